// Fleet benchmark: 4 worker processes share one API key against the simulator over loopback HTTP, with time compressed
// 60 times (a minute of the API in a second): Redis stores (@sluice/redis) against memory stores.
// Prints a markdown table (429s, throughput as a share of the limit, token exchanges per token lifetime), then one line
// `@@result <json>`. Needs the built packages (`npx -y pnpm@12.4.2 build`) and redis-server on PATH; starts and stops its own.
// Usage: node test/bench/fleet.mjs [--per-worker 150]   (about 35 s)
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from './redis-server.mjs';

const WORKERS = 4;
const TIME_SCALE = 60;
const LIMIT = 60;
const WINDOW_MS = 60_000 / TIME_SCALE; // the client's view of the API's minute
const TOKEN_TTL_MS = 480_000; // server time: 8 s of real time, a few windows like the API's 15 minutes
const REFRESH_RATIO = 0.2; // refreshed once a fifth of the life is left: more than a window ahead, as with the API
const LIFETIME_MS = TOKEN_TTL_MS / TIME_SCALE;
const KEY = 'mock_admin_key_0123456789';
const PATHS = ['/v2/event-details?ids=evt_1', '/v2/incidents/list', '/v2/admin/api-keys'];
const self = fileURLToPath(import.meta.url);
const dist = (name, entry = 'index') => new URL(`../../packages/${name}/dist/${entry}.mjs`, import.meta.url).href;
const log = (...args) => console.error('[fleet]', ...args);
const argValue = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

async function load(...names) {
  try {
    return await Promise.all(names.map((n) => import(dist(...n.split(':')))));
  } catch (error) {
    throw new Error(`the built packages are missing (run \`npx -y pnpm@12.4.2 build\` first): ${error.message}`);
  }
}

// ── worker: one process with its own pipeline; fires its burst when the parent says go, then sends its figures ─────
async function worker(config) {
  const [core, auth, limit, retry, redis] = await load('core', 'auth-token', 'rate-limit', 'retry-429', 'redis');
  const require = createRequire(new URL('../../packages/redis/package.json', import.meta.url));
  let client;
  let stores = {};
  const bus = core.createBus();
  if (config.mode === 'redis') {
    client = require('redis').createClient({ socket: { host: '127.0.0.1', port: config.redisPort } });
    client.on('error', () => {});
    await client.connect();
    // The stores' real-time defaults scaled with the API's time (a 100 ms poll would be 6 s of a real minute), except
    // commandTimeoutMs, which bounds Redis's own latency and keeps its default.
    const common = { client, prefix: config.prefix, bus, retryRedisMs: 50 };
    stores = {
      tokens: redis.redisTokenStore({ ...common, encryptionKey: 'fleet-bench-secret-0123456789abcdef', lockPollMs: 5 }),
      limits: redis.redisRateLimitStore({ ...common, pollMs: 10 }),
    };
  }
  // At 60 times the speed, a whole-second X-RateLimit-Reset is a whole window: the limiter would wait up to a window
  // for each reset. The workers drop those headers and count by their log alone (a minute of the real API is 60 such
  // seconds, so there the rounding costs under 2%). Retry-After stays, for the 429s of the memory stores.
  const dropped = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy'];
  const fetchLog = async (request) => {
    const response = await fetch(request);
    const headers = new Headers(response.headers);
    for (const name of dropped) headers.delete(name);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
  const api = core.compose(
    [
      retry.retry429(),
      // auth-token's defaults scaled down 60 times (its 120 s and 30 s margins do not scale by themselves).
      auth.authToken({
        apiKey: KEY,
        baseUrl: config.url,
        store: stores.tokens,
        refreshRatio: REFRESH_RATIO,
        refreshWindowMs: 2000,
        skewMs: 500,
      }),
      limit.rateLimit({ rules: [{ limit: LIMIT, windowMs: WINDOW_MS }], store: stores.limits }),
    ],
    { fetch: fetchLog, bus },
  );
  const fallbacks = [];
  bus.on('redis:fallback', (e) => fallbacks.push(e.reason));
  // Warm up what a cold process loads on first use (fetch, the scripts, WebCrypto), outside the measured burst.
  await (await fetch(`${config.url}/_mock/stats`)).arrayBuffer();
  if (stores.limits) {
    const warm = {
      key: `warm-up-${process.pid}`,
      endpoint: '/',
      now: Date.now(),
      rules: [{ limit: 1, windowMs: 1, jitterMs: Infinity }],
      concurrency: 1,
      leaseMs: 1,
    };
    const lease = await stores.limits.acquire(warm);
    if (lease.ok) await lease.release(Date.now());
    await stores.tokens.set(warm.key, { token: 'warm-up', issuedAt: Date.now(), expiresAt: Date.now() + 1000 });
    await stores.tokens.get(warm.key);
  }
  // Ready, then wait for the parent's go, so that every worker starts its burst at once.
  await new Promise((go) => {
    process.once('message', go);
    process.send('ready');
  });
  const first = Date.now();
  const statuses = {};
  let firstAnswer = Number.POSITIVE_INFINITY;
  let last = 0;
  await Promise.all(
    Array.from({ length: config.count }, async (_, i) => {
      const path = PATHS[i % PATHS.length];
      const init = path.includes('incidents') ? { method: 'POST', body: '{"page_request":{"size":1}}' } : undefined;
      let status = 0;
      try {
        const response = await api(config.url + path, init);
        await response.arrayBuffer();
        status = response.status;
      } catch {}
      statuses[status] = (statuses[status] ?? 0) + 1;
      firstAnswer = Math.min(firstAnswer, Date.now());
      last = Math.max(last, Date.now());
    }),
  );
  await api.close();
  await Promise.all([stores.tokens?.close(), stores.limits?.close()]); // the last writes land before the connection goes
  await client?.quit();
  process.send({ statuses, first, firstAnswer, last, fallbacks: fallbacks.length });
  process.disconnect();
}

// ── parent: redis-server, the simulator, two runs of four workers ─────────────────────────────────────────────────────

// Starts the workers, waits until each is ready, then tells them all to go; resolves with their results.
async function runWorkers(config) {
  const children = Array.from({ length: WORKERS }, () =>
    fork(self, ['--worker', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const results = children.map(
    (child) =>
      new Promise((resolve, reject) => {
        child.on('message', (m) => typeof m === 'object' && resolve(m));
        child.on('exit', (code) => code !== 0 && reject(new Error(`worker exited ${code}`)));
      }),
  );
  await Promise.all(children.map((child) => new Promise((ready) => child.once('message', ready))));
  for (const child of children) child.send('go');
  return Promise.all(results);
}

async function fleetRun(mode, served, redisPort, count) {
  await new Promise((r) => setTimeout(r, 2 * WINDOW_MS)); // the previous run's window is over
  served.mock.resetStats();
  const prefix = `bench${process.pid}${mode}`;
  const results = await runWorkers({ mode, url: served.url, redisPort, prefix, count });
  const stats = served.mock.stats();
  // Throughput is measured from the fleet's first answer: before it, a cold process starts (its first exchange, lazy loading),
  // which at 60 times the speed would weigh like a minute of start-up. It is reported on its own.
  const go = Math.min(...results.map((r) => r.first));
  const firstAnswer = Math.min(...results.map((r) => r.firstAnswer));
  const elapsed = Math.max(...results.map((r) => r.last)) - firstAnswer;
  const fallbacks = results.reduce((n, r) => n + r.fallbacks, 0);
  if (fallbacks > 0) log(`${mode}: Redis was too slow ${fallbacks} times (redis:fallback): is the machine busy?`);
  const counted = stats.requests - stats.rateLimited;
  // The least time after the first answer any client could take: the rest go `LIMIT` per window (a sliding log).
  const minimum = Math.floor((counted - 1) / LIMIT) * WINDOW_MS;
  const ok = results.reduce((n, r) => n + (r.statuses[200] ?? 0), 0);
  return {
    mode,
    requests: WORKERS * count,
    ok,
    rateLimited: stats.rateLimited,
    elapsed,
    startMs: firstAnswer - go,
    share: minimum / elapsed,
    exchanges: stats.tokenExchanges,
    // What one process alone needs: its first token, then one per refresh, at (1 - REFRESH_RATIO) of each life.
    needed: 1 + Math.floor((elapsed + firstAnswer - go) / ((1 - REFRESH_RATIO) * LIFETIME_MS)),
  };
}

async function main() {
  const count = Number(argValue('per-worker', 150));
  const [node] = await load('mock-server:node');
  const redis = await startRedisServer();
  const served = await node.serve({ port: 0, timeScale: TIME_SCALE, tokenTtlMs: TOKEN_TTL_MS, latencyMs: { min: 2, max: 10 }, seed: 3 });
  try {
    log(
      `${WORKERS} workers x ${count} requests, ${LIMIT} per ${WINDOW_MS} ms (a minute at time scale ${TIME_SCALE}), tokens live ${LIFETIME_MS} ms`,
    );
    const shared = await fleetRun('redis', served, redis.port, count);
    log('redis stores:', JSON.stringify(shared));
    const memory = await fleetRun('memory', served, redis.port, count);
    log('memory stores:', JSON.stringify(memory));
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    const row = (name, r) =>
      `| ${name} | ${r.requests} | ${r.ok} | ${r.rateLimited} | ${pct(r.share)} (${(r.elapsed / 1000).toFixed(2)} s after ${r.startMs} ms) | ${r.exchanges} | ${(r.exchanges / r.needed).toFixed(2)} |`;
    const markdown = [
      `${WORKERS} processes, one key, ${LIMIT} per minute and 5 concurrent per endpoint, time x${TIME_SCALE} (tokens live ${LIFETIME_MS / 1000} s,`,
      `refreshed with ${REFRESH_RATIO * 100}% left; "per token lifetime" divides by what one process alone needs, so 1.00 is one exchange per lifetime for the fleet):`,
      '',
      '| stores | requests | 200 | 429s at the server | throughput: share of the limit (from the first answer to the last) | token exchanges | exchanges per token lifetime, fleet-wide |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row('@sluice/redis (shared)', shared),
      row('memory (per process)', memory),
    ].join('\n');
    console.log(markdown);
    const goals = [
      { goal: 'shared stores: zero 429s', figure: String(shared.rateLimited), met: shared.rateLimited === 0 },
      { goal: 'shared stores: throughput within 5% of the limit', figure: pct(shared.share), met: shared.share >= 0.95 },
      {
        goal: 'shared stores: one exchange per token lifetime',
        figure: (shared.exchanges / shared.needed).toFixed(2),
        met: shared.exchanges <= shared.needed,
      },
      { goal: 'memory stores show the 429s', figure: String(memory.rateLimited), met: memory.rateLimited > 0 },
    ];
    console.log(`@@result ${JSON.stringify({ title: 'Fleet: 4 processes, one key (Redis vs memory stores)', markdown, goals })}`);
  } finally {
    await served.close();
    await redis.stop();
  }
}

if (process.argv[2] === '--worker') await worker(JSON.parse(process.argv[3]));
else await main();
