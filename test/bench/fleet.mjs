// Fleet benchmark: 4 worker processes share one API key against the simulator over loopback HTTP: Redis stores
// (@sluice/redis, with a subscriber connection each) against memory stores. Two servers: the reference API's limits with
// time compressed 60 times (a minute of the API in a second), and a strict sliding log of 20 per 2 s in real time with
// 25 to 75 ms of latency, whose X-RateLimit-Reset comes in whole seconds (issue 17 measured 1.49x the least time there).
// Then, given no limit (\`rules: 'auto'\`), the fleet learns the limits through Redis, against one process that learns them
// alone and sends all the requests.
// Prints a markdown table (429s, throughput as a share of the limit, token exchanges per token lifetime), then one line
// `@@result <json>`. Needs the built packages (`npx -y pnpm@12.4.2 build`) and redis-server on PATH; starts and stops its own.
// Usage: node test/bench/fleet.mjs [--per-worker 150]   (about a minute)
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from './redis-server.mjs';

const WORKERS = 4;
// The servers: the reference API at 60 times its speed (tokens live 8 s of real time, a few windows like the API's 15
// minutes), and a strict sliding log in real time.
const SCENARIOS = {
  reference: { timeScale: 60, limit: 60, windowMs: 60_000, latencyMs: { min: 2, max: 10 }, tokenTtlMs: 480_000 },
  strict: { timeScale: 1, limit: 20, windowMs: 2000, latencyMs: { min: 25, max: 75 }, tokenTtlMs: 900_000, count: 75 },
};
const REFRESH_RATIO = 0.2; // refreshed once a fifth of the life is left: more than a window ahead, as with the API
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

// FLEET_DEBUG: each 429 the simulator answers (retry-429 hides them from the caller), with when its request went.
async function logRefusals(input, init) {
  const sentAt = Date.now();
  const response = await fetch(input, init);
  if (response.status === 429) {
    const headers = ['retry-after', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((h) => `${h} ${response.headers.get(h)}`);
    log(Date.now() % 100_000, process.pid, '429 to a request sent at', sentAt % 100_000, new URL(input.url ?? input).pathname, ...headers);
  }
  return response;
}

// ── worker: one process with its own pipeline; fires its burst when the parent says go, then sends its figures ─────
async function worker(config) {
  const [core, auth, limit, retry, redis] = await load('core', 'auth-token', 'rate-limit', 'retry-429', 'redis');
  const require = createRequire(new URL('../../packages/redis/package.json', import.meta.url));
  let client;
  let stores = {};
  const bus = core.createBus();
  let subscriber;
  // 'learnt': the fleet learns the limits through Redis; 'learnt-one': one process learns them alone, in memory.
  const auto = config.mode === 'learnt' || config.mode === 'learnt-one';
  if (config.mode === 'redis' || config.mode === 'learnt') {
    client = require('redis').createClient({ socket: { host: '127.0.0.1', port: config.redisPort } });
    client.on('error', () => {});
    await client.connect();
    // A subscribed connection of its own: a release by another process wakes this one's waiters at once.
    subscriber = client.duplicate();
    subscriber.on('error', () => {});
    await subscriber.connect();
    // commandTimeoutMs bounds Redis's own latency and keeps its default; the retry after a failure follows the clock.
    const common = { client, prefix: config.prefix, bus, retryRedisMs: 50 };
    stores = {
      tokens: redis.redisTokenStore({ ...common, encryptionKey: 'fleet-bench-secret-0123456789abcdef', lockPollMs: 5 }),
      limits: redis.redisRateLimitStore({ ...common, subscriber }),
    };
  }
  const api = core.compose(
    [
      retry.retry429(),
      auth.authToken({ apiKey: KEY, baseUrl: config.url, store: stores.tokens, refreshRatio: REFRESH_RATIO }),
      limit.rateLimit({ rules: auto ? 'auto' : [{ limit: config.limit, windowMs: config.windowMs }], store: stores.limits }),
    ],
    { bus, fetch: process.env.FLEET_DEBUG ? logRefusals : fetch },
  );
  const fallbacks = [];
  bus.on('redis:fallback', (e) => fallbacks.push(e.reason));
  if (process.env.FLEET_DEBUG)
    for (const type of [
      'rate-limit:learned',
      'rate-limit:paused',
      'redis:fallback',
      'redis:recovered',
      'auth:token-requested',
      'auth:token-refreshed',
    ])
      bus.on(type, (e) => log(Date.now() % 100_000, process.pid, type, JSON.stringify(e).slice(0, 160)));
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
  await Promise.all([client?.quit(), subscriber?.quit()]);
  process.send({ statuses, first, firstAnswer, last, fallbacks: fallbacks.length });
  process.disconnect();
}

// ── parent: redis-server, the simulator, two runs of four workers ─────────────────────────────────────────────────────

// Starts the workers, waits until each is ready, then tells them all to go; resolves with their results.
async function runWorkers(config, workers) {
  const children = Array.from({ length: workers }, () =>
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

async function fleetRun(scenario, mode, served, redisPort, count) {
  const { limit, windowMs, timeScale, tokenTtlMs } = SCENARIOS[scenario];
  const clientWindowMs = windowMs / timeScale;
  await new Promise((r) => setTimeout(r, 2 * clientWindowMs)); // the previous run's window is over
  served.mock.resetStats();
  const prefix = `bench${process.pid}${scenario}${mode}`;
  // One process learning alone sends what the fleet sends.
  const workers = mode === 'learnt-one' ? 1 : WORKERS;
  const perWorker = (count * WORKERS) / workers;
  const results = await runWorkers(
    { mode, url: served.url, redisPort, prefix, count: perWorker, limit, windowMs: clientWindowMs },
    workers,
  );
  const stats = served.mock.stats();
  const go = Math.min(...results.map((r) => r.first));
  const firstAnswer = Math.min(...results.map((r) => r.firstAnswer));
  const elapsed = Math.max(...results.map((r) => r.last)) - firstAnswer;
  const fallbacks = results.reduce((n, r) => n + r.fallbacks, 0);
  if (fallbacks > 0) log(`${scenario} ${mode}: Redis was too slow ${fallbacks} times (redis:fallback): is the machine busy?`);
  const counted = stats.requests - stats.rateLimited;
  const minimum = Math.floor((counted - 1) / limit) * clientWindowMs;
  const ok = results.reduce((n, r) => n + (r.statuses[200] ?? 0), 0);
  const lifetimeMs = tokenTtlMs / timeScale;
  return {
    scenario,
    mode,
    workers,
    requests: WORKERS * count,
    ok,
    rateLimited: stats.rateLimited,
    elapsed,
    startMs: firstAnswer - go,
    share: minimum / elapsed,
    exchanges: stats.tokenExchanges,
    needed: 1 + Math.floor((elapsed + firstAnswer - go) / ((1 - REFRESH_RATIO) * lifetimeMs)),
  };
}

async function main() {
  const perWorker = Number(argValue('per-worker', 150));
  const [node] = await load('mock-server:node');
  const redis = await startRedisServer();
  const runs = [];
  try {
    // --only reference:memory,learnt runs one scenario's modes in that order (to look into them); nothing is written.
    const only = argValue('only', undefined)?.split(':');
    for (const [scenario, { timeScale, limit, windowMs, latencyMs, tokenTtlMs, count = perWorker }] of Object.entries(SCENARIOS)) {
      if (only && only[0] !== scenario) continue;
      const served = await node.serve({ port: 0, timeScale, limit, windowMs, tokenTtlMs, latencyMs, seed: 3 });
      try {
        log(`${scenario}: ${WORKERS} workers x ${count} requests, ${limit} per ${windowMs / timeScale} ms of real time`);
        if (only) {
          for (const mode of only[1].split(',')) log(JSON.stringify(await fleetRun(scenario, mode, served, redis.port, count)));
          continue;
        }
        runs.push(await fleetRun(scenario, 'redis', served, redis.port, count));
        log('redis stores:', JSON.stringify(runs.at(-1)));
        if (scenario === 'reference') {
          runs.push(await fleetRun(scenario, 'memory', served, redis.port, count));
          log('memory stores:', JSON.stringify(runs.at(-1)));
        }
        for (const mode of ['learnt', 'learnt-one']) {
          runs.push(await fleetRun(scenario, mode, served, redis.port, count));
          log(`${mode}:`, JSON.stringify(runs.at(-1)));
        }
      } finally {
        await served.close();
      }
    }
    if (only) return;
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    const describe = {
      reference: `the reference API, ${SCENARIOS.reference.limit} a minute, time x${SCENARIOS.reference.timeScale}`,
      strict: `a sliding log of ${SCENARIOS.strict.limit} per ${SCENARIOS.strict.windowMs / 1000} s, real time, 25-75 ms`,
    };
    const modeName = {
      redis: '@sluice/redis (shared)',
      memory: 'memory (per process)',
      learnt: "no limit given (`rules: 'auto'`), @sluice/redis: learnt by the fleet",
      'learnt-one': "no limit given (`rules: 'auto'`), memory: one process alone",
    };
    const row = (r) =>
      `| ${describe[r.scenario]} | ${modeName[r.mode]} | ${r.workers} | ${r.requests} | ${r.ok} | ${r.rateLimited} | ${pct(r.share)} (${(r.elapsed / 1000).toFixed(2)} s after ${r.startMs} ms; ${(1 / r.share).toFixed(2)}x the least time) | ${r.exchanges} | ${(r.exchanges / r.needed).toFixed(2)} |`;
    const markdown = [
      `${WORKERS} processes, one key, 5 concurrent per endpoint, against the simulator over loopback HTTP with its \`X-RateLimit-*\` headers (reset in whole epoch seconds); each process's Redis store has a subscriber connection. Tokens refreshed with ${REFRESH_RATIO * 100}% of their life left; "per token lifetime" divides by what one process alone needs, so 1.00 is one exchange per lifetime for the fleet:`,
      '',
      '| server | stores | processes | requests | 200 | 429s at the server | throughput: share of the limit (from the first answer to the last) | token exchanges | exchanges per token lifetime, fleet-wide |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...runs.map(row),
    ].join('\n');
    console.log(markdown);
    const shared = runs.filter((r) => r.mode === 'redis');
    const learnt = Object.keys(SCENARIOS).map((scenario) => ({
      scenario,
      fleet: runs.find((r) => r.scenario === scenario && r.mode === 'learnt'),
      one: runs.find((r) => r.scenario === scenario && r.mode === 'learnt-one'),
    }));
    const memory = runs.find((r) => r.mode === 'memory');
    const goals = [
      {
        goal: 'shared stores: zero 429s',
        figure: shared.map((r) => `${r.scenario} ${r.rateLimited}`).join(', '),
        met: shared.every((r) => r.rateLimited === 0),
      },
      ...shared.map((r) => ({
        goal: `shared stores (${r.scenario}): completion within 10% of the least time`,
        figure: `${(1 / r.share).toFixed(3)}x`,
        met: 1 / r.share <= 1.1,
      })),
      {
        goal: 'shared stores: one exchange per token lifetime',
        figure: shared.map((r) => `${r.scenario} ${(r.exchanges / r.needed).toFixed(2)}`).join(', '),
        met: shared.every((r) => r.exchanges <= r.needed),
      },
      { goal: 'memory stores show the 429s', figure: String(memory.rateLimited), met: memory.rateLimited > 0 },
      ...learnt.map(({ scenario, fleet, one }) => ({
        goal: `no limit given (${scenario}): a fleet of ${WORKERS} learns with no more 429s than one process`,
        figure: `fleet ${fleet.rateLimited}, one process ${one.rateLimited}`,
        met: fleet.rateLimited <= one.rateLimited,
      })),
    ];
    console.log(`@@result ${JSON.stringify({ title: 'Fleet: 4 processes, one key (Redis vs memory stores)', markdown, goals })}`);
  } finally {
    await redis.stop();
  }
}

if (process.argv[2] === '--worker') await worker(JSON.parse(process.argv[3]));
else await main();
