// 3b. Limit efficiency against a real rate-limiting gateway: nginx (Debian's package) started on loopback with a
// generated config, `limit_req` at 10 r/s (without burst, then with burst=10 nodelay) and `limit_conn` 5, proxying
// to a node:http upstream that answers in 20 ms. Every contender bursts at once, each under its own gateway key
// (header X-Bench-Client), so they run side by side without sharing a bucket. 429s are counted from nginx's access log.
// Usage: node test/bench/gateway.mjs [--quick]
import { performance } from 'node:perf_hooks';
import { fmt, loadSluice, log, quick, report, sleep, table } from './common.mjs';
import { createContender, PEERS } from './contenders.mjs';
import { countLog, findNginx, freePort, nginxConfig, nginxPrefix, PROXY, startNginx, startUpstream, stopNginx } from './nginx.mjs';

const RATE = 10; // requests per second, per client key
const BURST = 10;
const CONN = 5;
const LATENCY = 20; // upstream ms
// sluice's rules carry no jitterMs: the limiter dates answers by what it learns of the round trips. BENCH_GATEWAY_JITTER
// sets one on both rules, to compare.
const JITTER = process.env.BENCH_GATEWAY_JITTER === undefined ? undefined : Number(process.env.BENCH_GATEWAY_JITTER);
const n = quick ? 30 : 60;
const DEADLINE = quick ? 8_000 : 15_000; // ms a peer gets to finish its burst
const title = '3b. Limit efficiency against nginx limit_req / limit_conn (real time)';

// The upstream: the token exchange, and the API for a bearer of its token.
function upstream() {
  const token = JSON.stringify({ access_token: `tok_${'g'.repeat(40)}`, expires_in: 900 });
  return startUpstream(LATENCY, (request) => {
    const isToken = request.method === 'POST' && request.url === '/v2/auth/token/access';
    const authorized = isToken || /^Bearer tok_/.test(request.headers.authorization ?? '');
    return { status: authorized ? 200 : 401, body: !authorized ? '{"error":"unauthorized"}' : isToken ? token : '{"ok":true}' };
  });
}

const config = (prefix, upstreamPort, ports) =>
  nginxConfig(
    prefix,
    upstreamPort,
    `  limit_req_zone $http_x_bench_client zone=strict:1m rate=${RATE}r/s;
  limit_req_zone $http_x_bench_client zone=bursty:1m rate=${RATE}r/s;
  limit_conn_zone $http_x_bench_client zone=conn:1m;
  limit_req_status 429;
  limit_conn_status 429;
  server { listen 127.0.0.1:${ports.strict}; location / { limit_req zone=strict; limit_conn conn ${CONN}; ${PROXY} } }
  server { listen 127.0.0.1:${ports.burst}; location / { limit_req zone=bursty burst=${BURST} nodelay; limit_conn conn ${CONN}; ${PROXY} } }`,
  );

// Sluice configured to the gateway's rule: a spacing rule for limit_req without burst; for burst=B, a bucket rule of B + 1
// refilled at the rate (nginx lets B through beyond the one the rate allows); limit_conn as one endpoint.
const sluiceRateLimit = {
  strict: { rules: [{ limit: 1, windowMs: 1000 / RATE, jitterMs: JITTER }], concurrency: CONN, endpoint: () => 'gateway' },
  burst: {
    rules: [{ limit: RATE, windowMs: 1000, burst: BURST + 1, jitterMs: JITTER }],
    concurrency: CONN,
    endpoint: () => 'gateway',
  },
};

// The least time: n + 1 requests (the exchange counts) at the gateway's rate, after the burst it lets through,
// plus the exchange's and the last request's round trips.
const minimum = {
  strict: (n * 1000) / RATE + 2 * LATENCY,
  burst: ((n - BURST) * 1000) / RATE + 2 * LATENCY,
};

// One contender's burst; resolves at the deadline at the latest (its requests may go on: they count no more).
async function burst(s, who, name, base) {
  const client = `${who}-${name}`;
  const contender = createContender(who, {
    base,
    fetch: who === 'axios' || who === 'azure' ? null : undefined,
    retries: 10,
    headers: { 'x-bench-client': client },
    sluice: { packages: s, rateLimit: sluiceRateLimit[name] },
  });
  const t0 = performance.now();
  const epoch0 = Date.now(); // nginx logs epoch times: the 429s are placed on the burst's time with it
  const completions = [];
  let failed = 0;
  let settled = 0;
  let last = t0;
  const paths = ['/v2/items/a', '/v2/items/b', '/v2/items/c'];
  const all = Promise.all(
    Array.from({ length: n }, (_, i) =>
      contender
        .send({ url: `${base}${paths[i % paths.length]}` })
        .catch(() => failed++)
        .finally(() => {
          settled++;
          last = performance.now();
          completions.push(last - t0);
        }),
    ),
  );
  const finished = await Promise.race([all.then(() => true), sleep(DEADLINE).then(() => false)]);
  if (finished) await contender.close?.();
  return { who, client, completionMs: finished ? last - t0 : DEADLINE, failed, unfinished: n - settled, completions, epoch0 };
}

// sluice alone first, on a quiet event loop (its spacing is only as good as the loop's timing); then the peers side by side.
async function scenario(s, name, port, prefix) {
  const base = `http://127.0.0.1:${port}`;
  const results = [await burst(s, 'sluice', name, base)];
  results.push(...(await Promise.all(PEERS.map((who) => burst(s, who, name, base)))));
  const counts = countLog(prefix);
  for (const r of results) Object.assign(r, counts.get(r.client) ?? { requests: 0, refused: 0, refusedAt: [] });
  for (const r of results) r.rejections = r.refusedAt.map((at) => at - r.epoch0).filter((ms) => ms <= DEADLINE);
  return results;
}

const { bin, version, problem } = findNginx(log);
if (!bin) {
  log(`\n*** gateway section NOT RUN: ${problem} ***\n`);
  report({
    title,
    markdown: `**Not run**: ${problem}.`,
    goals: [{ goal: 'Limit efficiency (nginx): zero 429s, within 5% of the minimum', figure: `not run: ${problem}`, met: null }],
  });
  process.exit(0);
}

const s = await loadSluice();
const app = await upstream();
const ports = { strict: await freePort(), burst: await freePort() };
const { prefix, remove } = nginxPrefix((dir) => config(dir, app.address().port, ports));
let nginx;
try {
  nginx = await startNginx(bin, prefix, ports.strict);
  log(`${version} on 127.0.0.1:${ports.strict} (no burst) and :${ports.burst} (burst=${BURST} nodelay), prefix ${prefix}`);
  const results = [];
  for (const name of ['strict', 'burst']) {
    const rows = await scenario(s, name, ports[name], prefix);
    for (const r of rows)
      log(`gateway ${name} ${r.who}: ${fmt.s(r.completionMs)}, ${r.refused} 429s, ${r.failed} failed, ${r.unfinished} unfinished`);
    results.push(...rows.map((r) => ({ ...r, scenario: name })));
    await sleep(1500); // let the buckets drain before the next scenario
  }
  const label = { strict: `limit_req ${RATE}r/s, no burst`, burst: `limit_req ${RATE}r/s burst=${BURST} nodelay` };
  const rows = results.map((r) => {
    const min = minimum[r.scenario];
    return [
      `${label[r.scenario]}, limit_conn ${CONN}`,
      r.who,
      r.refused,
      r.failed,
      r.unfinished,
      r.requests,
      r.unfinished ? `> ${fmt.s(DEADLINE)}` : fmt.s(r.completionMs),
      fmt.s(min),
      r.unfinished ? '' : fmt.pct(r.completionMs / min - 1),
    ];
  });
  const sluice = results.filter((r) => r.who === 'sluice');
  report({
    title,
    markdown: [
      `${version}, started by the benchmark on loopback; upstream node:http answering in ${LATENCY} ms. ${n} GETs at once per contender (cold start: the exchange, through the gateway too, makes ${n + 1}), each contender under its own key. sluice runs alone, then the peers side by side (a peer still retrying after ${fmt.s(DEADLINE)} is cut off). sluice's rate-limit set to the gateway's rule, with no \`jitterMs\` (the limiter learns the round trips): \`{ limit: 1, windowMs: ${1000 / RATE} }\` without burst, the bucket rule \`{ limit: ${RATE}, windowMs: 1000, burst: ${BURST + 1} }\` with burst=${BURST}, \`concurrency: ${CONN}\` on one endpoint. nginx sends no Retry-After: ky backs off (capped at 10 s), axios-retry backs off exponentially, ofetch waits 1 s, Azure's throttling policy does not retry a 429 without Retry-After. 429s counted from nginx's access log. Minimum: \`(n - burst)/rate\` plus two round trips.`,
      '',
      table(
        [
          'gateway rule',
          'contender',
          '429s received',
          'failed',
          `unfinished after ${fmt.s(DEADLINE)}`,
          'requests sent',
          'completion',
          'theoretical minimum',
          'over the minimum',
        ],
        rows,
      ),
    ].join('\n'),
    goals: [
      {
        goal: 'Limit efficiency (nginx): zero 429s in every burst',
        figure: sluice.map((r) => `${r.scenario === 'strict' ? 'no burst' : 'burst'} ${r.refused}`).join(', '),
        met: sluice.every((r) => r.refused === 0 && r.failed === 0 && r.unfinished === 0),
      },
      // Without burst every request pays what the limiter cannot know of its round trip (half of it, on a steady path):
      // issue 17's goal for 100 ms spacing over real sockets is 25%. With burst, once per burst: 5%.
      ...sluice.map((r) => {
        const allowed = r.scenario === 'strict' ? 0.25 : 0.05;
        return {
          goal: `Limit efficiency (nginx, ${r.scenario === 'strict' ? 'no burst, 100 ms spacing' : `burst=${BURST}`}): completion within ${allowed * 100}% of the minimum, no jitterMs given`,
          figure: `${fmt.s(r.completionMs)} vs ${fmt.s(minimum[r.scenario])} (${fmt.pct(r.completionMs / minimum[r.scenario] - 1)})`,
          met: r.completionMs / minimum[r.scenario] - 1 <= allowed,
        };
      }),
    ],
    data: results.map(({ refusedAt, epoch0, ...r }) => ({ ...r, minimumMs: minimum[r.scenario], deadlineMs: DEADLINE })),
  });
} finally {
  await stopNginx(nginx);
  app.closeAllConnections?.();
  app.close();
  remove();
}
// Peers cut off at the deadline may still hold backoff timers: they are not waited for.
process.exit(0);
