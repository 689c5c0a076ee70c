// 3c. The limiter at every scale: a matrix on virtual time against three server models (sliding log, fixed window,
// GCRA bucket) that count on arrival, with no quota headers, with X-RateLimit-* (whole epoch seconds) and with the IETF
// RateLimit header (whole seconds from now): windows of 100 ms, 1 s, 2 s, 60 s, 1 h and 1 day; limits of 1, 20, 60,
// 10,000 and 1,000,000. Each cell sends a cold-start burst (all at once) with a random 5 to 50 ms each way, and the
// client is given the server's limit as its rule (a bucket rule against the bucket), no concurrency cap.
// Then, per limit and window: heap and Redis bytes per key and the CPU time of one 429, from keys filled to their
// steady state. nginx and a Redis fleet on real sockets are the gateway and fleet sections.
// Usage: node --expose-gc test/bench/scale.mjs [--quick] [--limits 1,20]
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { arg, fmt, gc, loadSluice, log, quick, report, table } from './common.mjs';
import { startRedisServer } from './redis-server.mjs';
import { countFor, LATENCY, pipelineCell, START, storeCell } from './scale-cells.mjs';
import { leastTime } from './scale-servers.mjs';

const s = await loadSluice();
const http = await import(new URL('../../packages/core/dist/http.mjs', import.meta.url).href);

const WINDOWS = [100, 1000, 2000, 60_000, 3_600_000, 86_400_000];
// `--limits 20,1000000` runs only those (for a look at one part; RESULTS.md is written from the whole matrix).
const LIMITS = arg('limits')?.split(',').map(Number) ?? (quick ? [1, 20, 10_000] : [1, 20, 60, 10_000, 1_000_000]);
const KINDS = ['sliding', 'fixed', 'bucket'];
const FORMS = ['none', 'x-ratelimit', 'ietf'];
// Above PIPELINE_UP_TO a cell takes seconds of event loop per million requests: one header form per server model.
const FORM_AT_SCALE = { sliding: 'x-ratelimit', fixed: 'ietf', bucket: 'none' };
// Up to this limit a cell runs through rateLimit() in a pipeline; above, its store is driven by an event loop with the
// same queue discipline (one endpoint, first come first served), as a million Requests would take minutes per cell.
const PIPELINE_UP_TO = 10_000;

// ── the matrix ───────────────────────────────────────────────────────────────────────────────────────────────────
const cells = [];
const started = performance.now();
for (const limit of LIMITS) {
  for (const windowMs of WINDOWS) {
    for (const kind of KINDS) {
      for (const form of limit > PIPELINE_UP_TO ? [FORM_AT_SCALE[kind]] : FORMS) {
        const t0 = performance.now();
        const result =
          limit <= PIPELINE_UP_TO
            ? await pipelineCell(s, kind, form, limit, windowMs)
            : await storeCell(s, http, kind, form, limit, windowMs);
        const minimumMs = leastTime(kind, countFor(limit), limit, windowMs, LATENCY.min);
        cells.push({ kind, form, limit, windowMs, count: countFor(limit), ...result, minimumMs, ratio: result.completionMs / minimumMs });
        log(
          `scale ${kind} ${form} ${limit}/${windowMs} ms: ${result.refused} 429s, ${(result.completionMs / minimumMs).toFixed(3)}x (${result.via}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
}
log(`matrix: ${cells.length} cells in ${((performance.now() - started) / 1000).toFixed(0)} s`);

// ── per key: heap, Redis bytes, one 429 ──────────────────────────────────────────────────────────────────────────
const KEYS = quick ? 500 : 2000;
/**
 * Fills `keys` keys of `store` with a window's worth of requests spread over it (at most 128, which touch every cell of a
 * large limit's log: the most entries it holds whatever the traffic), each with one more request in flight that then
 * gets a 429; returns the milliseconds one 429 took.
 */
async function fillKeys(store, keys, limit, windowMs, name = 'key') {
  const rules = [{ limit, windowMs, jitterMs: Number.POSITIVE_INFINITY }];
  const n = Math.min(limit - 1, 128);
  const step = windowMs / Math.max(1, n);
  const input = (k, now) => ({ key: `${name}${k}`, endpoint: '/v2/e', now, rules, concurrency: 5, leaseMs: 300_000 });
  const refused = [];
  for (let k = 0; k < keys; k++) {
    refused.push(await store.acquire(input(k, START)));
    for (let i = 0; i < n; i++) {
      const at = START + i * step;
      const lease = await store.acquire(input(k, at));
      if (!lease.ok) break;
      await lease.release(at + 1, { sentAt: at, at: at + 1, status: 200 });
    }
  }
  const end = START + windowMs;
  const t0 = performance.now();
  for (const lease of refused) await lease.release(end, { sentAt: START, at: end, status: 429, retryAt: end + 1000 });
  return (performance.now() - t0) / keys;
}

// Heap after full collections, with and without the keys: the most of three fills (what the previous fill left to collect
// can only make one read low). Each fill runs in a call of its own: an async function's frame would keep the last
// fill's store alive through the next one's first measure.
const settledHeap = async () => {
  // What the last fill's promises still hold goes with a turn of the event loop; then two full collections.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

async function fillOnce(limit, windowMs) {
  const before = await settledHeap();
  const store = s.rateLimit.createMemoryStore();
  const perFourTwentyNine = await fillKeys(store, KEYS, limit, windowMs);
  const bytes = ((await settledHeap()) - before) / KEYS;
  const entries = Math.max(...(store.stateOf('key0')?.rules ?? []).map((r) => r.entries));
  return { bytes, entries, perFourTwentyNine, size: store.size };
}

async function heapPerKey(limit, windowMs) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await fillOnce(limit, windowMs));
  runs.sort((a, b) => a.bytes - b.bytes);
  return runs[2];
}

const perKey = [];
for (const limit of LIMITS)
  for (const windowMs of WINDOWS) {
    const heap = await heapPerKey(limit, windowMs);
    perKey.push({ limit, windowMs, heapBytes: heap.bytes, entries: heap.entries, cpuUs: heap.perFourTwentyNine * 1000 });
    log(
      `per key ${limit}/${windowMs}: ${heap.bytes.toFixed(0)} B heap, ${heap.entries} entries, ${(heap.perFourTwentyNine * 1000).toFixed(1)} µs per 429`,
    );
  }

// Redis: the same keys on a real redis-server, its bytes per key (MEMORY USAGE) and the server's time per script call.
const redisRows = await measureRedis();

async function measureRedis() {
  const require = createRequire(new URL('../../packages/redis/package.json', import.meta.url));
  const redis = await import(new URL('../../packages/redis/dist/index.mjs', import.meta.url).href);
  let server;
  try {
    server = await startRedisServer();
  } catch (error) {
    log(`redis-server unavailable: ${error.message}`);
    return undefined;
  }
  const client = require('redis').createClient({ socket: { host: '127.0.0.1', port: server.port } });
  await client.connect();
  const rows = [];
  try {
    const keys = quick ? 20 : 100;
    for (const limit of LIMITS)
      for (const windowMs of WINDOWS) {
        const prefix = `b${limit}x${windowMs}`;
        const store = redis.redisRateLimitStore({ client, prefix, onError: 'fail-closed', commandTimeoutMs: 5000 });
        await fillKeys(store, keys, limit, windowMs);
        let bytes = 0;
        for (const key of await client.keys(`${prefix}:*`)) bytes += Number(await client.sendCommand(['MEMORY', 'USAGE', key]));
        // The slowest script, on a key that used its window: the 429 (FINISH, which fills the rule) and ACQUIRE.
        await client.sendCommand(['CONFIG', 'RESETSTAT']);
        await fillKeys(store, Math.min(keys, 20), limit, windowMs, 'timed');
        const stats = String(await client.sendCommand(['INFO', 'commandstats']));
        const usec = stats.match(/cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/);
        const slowlog = await client.sendCommand(['SLOWLOG', 'GET', '1']);
        rows.push({
          limit,
          windowMs,
          bytesPerKey: bytes / keys,
          usecPerCall: usec ? Number(usec[3]) : undefined,
          slowestUs: slowlog?.[0]?.[2],
        });
        await client.sendCommand(['SLOWLOG', 'RESET']);
        log(`redis ${limit}/${windowMs}: ${(bytes / keys).toFixed(0)} B per key, ${usec?.[3]} µs per script call`);
        await client.sendCommand(['FLUSHDB']);
      }
  } finally {
    await client.quit();
    await server.stop();
  }
  return rows;
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────────────────────
const windowName = (ms) =>
  ms < 1000
    ? `${ms} ms`
    : ms < 60_000
      ? `${ms / 1000} s`
      : ms < 3_600_000
        ? `${ms / 60_000} min`
        : ms < 86_400_000
          ? `${ms / 3_600_000} h`
          : `${ms / 86_400_000} d`;
const grid = LIMITS.flatMap((limit) =>
  WINDOWS.map((windowMs) => {
    const row = [fmt.int(limit), windowName(windowMs)];
    for (const kind of KINDS)
      for (const form of FORMS) {
        const c = cells.find((x) => x.limit === limit && x.windowMs === windowMs && x.kind === kind && x.form === form);
        row.push(c ? `${c.ratio.toFixed(3)}${c.refused ? ` (${c.refused} 429s)` : ''}` : '–');
      }
    return row;
  }),
);
const formName = { none: 'no headers', 'x-ratelimit': 'X-RateLimit', ietf: 'IETF' };
const header = ['limit', 'window', ...KINDS.flatMap((k) => FORMS.map((f) => `${k}, ${formName[f]}`))];
const refusedCells = cells.filter((c) => c.refused > 0);
const longWindows = cells.filter((c) => c.windowMs >= 1000);
const worstLong = longWindows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
const worstAll = cells.reduce((a, b) => (b.ratio > a.ratio ? b : a));
const heapWorst = perKey.reduce((a, b) => (b.heapBytes > a.heapBytes ? b : a));
const cpuWorst = perKey.reduce((a, b) => (b.cpuUs > a.cpuUs ? b : a));
const redisWorst = redisRows?.reduce((a, b) => (b.bytesPerKey > a.bytesPerKey ? b : a));
const scriptWorst = redisRows?.reduce((a, b) => ((b.usecPerCall ?? 0) > (a.usecPerCall ?? 0) ? b : a));

report({
  title: '3c. Limits at every scale (virtual time)',
  markdown: [
    `${cells.length} cells: three server models counting on arrival (a sliding log, fixed windows aligned to the epoch, a GCRA bucket of burst \`limit\`) × no quota headers, \`X-RateLimit-*\` (reset in whole epoch seconds, rounded up) and the IETF \`RateLimit\` (reset in whole seconds from now) × windows of 100 ms to a day × limits of 1 to 1,000,000. Each cell sends ${'`max(4·limit, 20)`'} requests at once for limits up to 60, ${'`2.25·limit`'} above (at 1,000,000 one header form per server model, a cell taking most of a minute: X-RateLimit against the sliding log, IETF against the fixed window, none against the bucket), with 5 to 50 ms each way (seeded); the client is \`rateLimit({ rules: [{ limit, windowMs }] })\` (with \`burst: limit\` against the bucket), no concurrency cap. Cells up to a limit of ${fmt.int(PIPELINE_UP_TO)} run through \`rateLimit()\` in a pipeline; those of 1,000,000 drive its store with the same queue discipline (a million Requests would take minutes per cell). Figure: completion (the burst to the last answer) over the least time any client could take (the greedy schedule at the least latency), and the 429s if any.`,
    '',
    table(header, grid),
    '',
    `Per key, from ${KEYS} keys each filled with a window's worth of requests spread over it (at most 128: enough to touch every one of a large limit's ${s.rateLimit.LOG_CELLS} cells, the most a log holds whatever the traffic) and one more request answered 429 (the most of three fills): the heap they hold, the most entries one rule kept, and the CPU time of one 429 (the store's part: pause, assumed-full rule, probe). Redis: ${quick ? 20 : 100} keys the same way on a real redis-server, \`MEMORY USAGE\` of every key, and the server's time per script call (\`INFO commandstats\`).`,
    '',
    table(
      ['limit', 'window', 'heap per key', 'log entries', 'CPU per 429', 'Redis per key', 'Redis per script call'],
      perKey.map((p) => {
        const r = redisRows?.find((x) => x.limit === p.limit && x.windowMs === p.windowMs);
        return [
          fmt.int(p.limit),
          windowName(p.windowMs),
          `${fmt.int(p.heapBytes)} B`,
          p.entries,
          `${p.cpuUs.toFixed(1)} µs`,
          r ? `${fmt.int(r.bytesPerKey)} B` : 'n/a',
          r?.usecPerCall === undefined ? 'n/a' : `${r.usecPerCall.toFixed(1)} µs`,
        ];
      }),
    ),
  ].join('\n'),
  goals: [
    {
      goal: 'Scale matrix: 0 429s in every cell',
      figure: `${refusedCells.length} of ${cells.length} cells saw 429s${
        refusedCells.length
          ? `: ${refusedCells
              .slice(0, 3)
              .map((c) => `${c.kind} ${c.form} ${c.limit}/${c.windowMs}`)
              .join(', ')}`
          : ''
      }`,
      met: refusedCells.length === 0,
    },
    {
      goal: 'Scale matrix: completion within 10% of the least time for windows of 1 s and more',
      figure: `worst ${worstLong.ratio.toFixed(3)}x (${worstLong.kind}, ${worstLong.form}, ${worstLong.limit}/${windowName(worstLong.windowMs)}); 100 ms windows: worst ${worstAll.windowMs < 1000 ? worstAll.ratio.toFixed(3) : '≤'}x`,
      met: worstLong.ratio <= 1.1,
    },
    {
      goal: 'Scale: heap per key under 4 KB at any limit',
      figure: `most ${fmt.int(heapWorst.heapBytes)} B (${fmt.int(heapWorst.limit)}/${windowName(heapWorst.windowMs)})`,
      met: heapWorst.heapBytes < 4096,
    },
    {
      goal: 'Scale: a 429 handled in under 1 ms of CPU at any limit',
      figure: `most ${cpuWorst.cpuUs.toFixed(1)} µs (${fmt.int(cpuWorst.limit)}/${windowName(cpuWorst.windowMs)})`,
      met: cpuWorst.cpuUs < 1000,
    },
    {
      goal: 'Scale: Redis under 8 KB per key and every script under 1 ms at any limit',
      figure: redisRows
        ? `most ${fmt.int(redisWorst.bytesPerKey)} B per key, ${scriptWorst.usecPerCall?.toFixed(1)} µs per call (slowest at ${fmt.int(scriptWorst.limit)}/${windowName(scriptWorst.windowMs)})`
        : 'redis-server unavailable',
      met: Boolean(redisRows && redisWorst.bytesPerKey < 8192 && scriptWorst.usecPerCall < 1000),
    },
  ],
  data: {
    cells,
    perKey,
    redis: redisRows,
    // Drawn by charts.mjs as charts/scale-grid.svg: a row per server model and header form, a column per rule.
    grid: {
      title: 'Limits at every scale: completion over the least time',
      caption: `${cells.length} cold-start bursts on virtual time, each against a server model of the rule's own limit; 1.00× is the least time any client could take; green: no 429.`,
      rowTitle: 'server model, quota headers',
      columnTitle: 'rule (limit per window)',
      cells: cells.map((c) => ({
        row: `${c.kind}, ${formName[c.form]}`,
        column: `${fmt.int(c.limit)} / ${windowName(c.windowMs)}`,
        ratio: c.ratio,
        rejected: c.refused,
      })),
    },
  },
});
