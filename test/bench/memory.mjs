// 5. Memory: heap after 1,000,000 requests through the full pipeline (in-process transport, token warm, limiter not
// binding), and with 100,000 distinct rate-limit keys, then after they have been idle for a window while traffic goes on.
// Needs --expose-gc. Usage: node --expose-gc test/bench/memory.mjs [--quick]

import { fmt, loadSluice, log, quick, report, table } from './common.mjs';
import { API_KEY, NON_BINDING_LIMIT } from './contenders.mjs';

if (!globalThis.gc) throw new Error('run with node --expose-gc');
const s = await loadSluice();
const { compose } = s.core;
const BASE = 'https://api.example';
const TOKEN = JSON.stringify({ access_token: `tok_${'x'.repeat(40)}`, expires_in: 86_400 });
const init = { status: 200, headers: { 'content-type': 'application/json' } };
const transport = (request) => new Response(request.method === 'POST' ? TOKEN : '{"ok":true}', init);

const turn = () => new Promise((resolve) => setImmediate(resolve));
// Collects, then lets the event loop turn: undici frees what a Request made from another Request holds (its signal's
// listener) in FinalizationRegistry callbacks, which run as tasks after a collection, not inside it.
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await turn();
  }
  return process.memoryUsage().heapUsed;
};
const BATCH = Number(process.env.BENCH_MEMORY_BATCH ?? 100);

async function drive(api, total, url) {
  for (let done = 0; done < total; done += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH; i++) batch.push(api(url(done + i)).then((r) => r.text()));
    await Promise.all(batch);
    await turn(); // as any real transport's I/O would
  }
}

const pipeline = (rateLimitOptions, clock) =>
  compose(
    [
      s.errorMap.errorMap(),
      s.retry429.retry429(),
      s.authToken.authToken({ apiKey: API_KEY, baseUrl: BASE }),
      s.rateLimit.rateLimit(rateLimitOptions),
    ],
    { fetch: transport, clock },
  );

// 1,000,000 requests, the limiter in place but not binding (as in the overhead benchmark).
const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? (quick ? 100_000 : 1_000_000));
const api = pipeline(NON_BINDING_LIMIT);
await drive(api, 20_000, () => `${BASE}/v2/items`); // warm-up: token cached, code optimised
const before = await heap();
const t0 = performance.now();
const marks = [];
for (let done = 0; done < REQUESTS; done += REQUESTS / 10) {
  await drive(api, REQUESTS / 10, () => `${BASE}/v2/items`);
  marks.push(await heap());
}
const seconds = (performance.now() - t0) / 1000;
const after = await heap();
await api.close();
const growth = after - before;
log(`memory: ${fmt.int(REQUESTS)} requests in ${seconds.toFixed(1)} s, heap ${fmt.mb(before)} -> ${fmt.mb(after)}`);

// 100,000 distinct keys (one request each), on a clock we move by hand; then a window of idleness, then traffic
// on 1,000 other keys: the memory store drops idle keys as it goes (a few per call).
const KEYS = quick ? 20_000 : 100_000;
let now = Date.UTC(2026, 0, 1);
const clock = {
  now: () => now,
  sleep: () => Promise.reject(new Error('nothing should wait in this benchmark')),
};
const store = s.rateLimit.createMemoryStore();
const keyed = pipeline({ store, key: (request) => new URL(request.url).searchParams.get('k') }, clock);
const k0 = await heap();
await drive(keyed, KEYS, (i) => `${BASE}/v2/items?k=key${i}`);
const k1 = await heap();
const size1 = store.size;
now += 61_000; // every key idle for longer than its window
await drive(keyed, KEYS / 2, (i) => `${BASE}/v2/items?k=other${i % 1000}`);
const k2 = await heap();
const size2 = store.size;
await keyed.close();
log(`memory: ${fmt.int(KEYS)} keys: ${fmt.mb(k0)} -> ${fmt.mb(k1)} (${size1} keys) -> ${fmt.mb(k2)} (${size2} keys)`);

const mbRow = (label, bytes, extra = '') => [label, fmt.mb(bytes), extra];
report({
  title: '5. Memory',
  markdown: [
    `Heap used after \`global.gc()\`, in batches of ${fmt.int(BATCH)} concurrent requests through \`[errorMap(), retry429(), authToken(), rateLimit()]\` and an in-process transport.`,
    '',
    `**${fmt.int(REQUESTS)} requests** (one key, token warm, rate-limit \`{ rules: [{ limit: Infinity }], concurrency: Infinity }\`: in place, not binding; ${fmt.int(REQUESTS / seconds)} requests/s)`,
    '',
    table(
      ['moment', 'heap used', ''],
      [
        mbRow('after 20,000 warm-up requests', before),
        ...marks.map((m, i) => mbRow(`after ${fmt.int(((i + 1) * REQUESTS) / 10)}`, m)),
        mbRow('growth', growth),
      ],
    ),
    '',
    `**${fmt.int(KEYS)} distinct keys** (rate-limit \`key\` from the URL, default rule 60 per minute, memory store)`,
    '',
    table(
      ['moment', 'heap used', 'keys in the store'],
      [
        mbRow('before', k0, 0),
        mbRow(`after one request on each of ${fmt.int(KEYS)} keys`, k1, fmt.int(size1)),
        mbRow(`61 s later, after ${fmt.int(KEYS / 2)} requests on 1,000 other keys`, k2, fmt.int(size2)),
      ],
    ),
  ].join('\n'),
  goals: [
    { goal: `Memory: heap growth under 5 MB after ${fmt.int(REQUESTS)} requests`, figure: fmt.mb(growth), met: growth < 5 * 1024 * 1024 },
    {
      goal: `Memory: bounded with ${fmt.int(KEYS)} keys`,
      figure: `${fmt.mb(k1 - k0)} for ${fmt.int(size1)} live keys; ${fmt.mb(k2 - k0)} and ${fmt.int(size2)} keys once idle`,
      met: size2 <= 1_000 && k2 - k0 < (k1 - k0) / 4,
    },
  ],
  data: { before, after, growth, marks, seconds, keys: { k0, k1, k2, size1, size2 } },
});
