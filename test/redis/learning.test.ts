// rules: 'auto' on the Redis store: learnt rules start and change as in the memory store (the same answers, side by
// side), the quota a key follows is kept in Redis, and a learnt policy is shared with the fleet and with processes that
// start later.
import { authToken } from '@sluice/auth-token';
import { compose, type SluiceEvents } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { createMockServer } from '@sluice/mock-server';
import { type Answer, rateLimit, type StoreRule } from '@sluice/rate-limit';
import { fromNodeRedis, redisRateLimitStore, redisTokenStore } from '@sluice/redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Evidence, perEndpointQuotas, reform, seeded, twoQuotas } from '../rate-limit/models.js';
import { connectNodeRedis, createIo, input, type NodeRedisClient, steppingClock, T, uniquePrefix } from './helpers.js';
import { type RedisServer, startRedis } from './server.js';
import { type TwinLease, twin } from './twin.js';

let server: RedisServer;
let client: NodeRedisClient;
let fleetClients: NodeRedisClient[] = [];
test.before(async () => {
  server = await startRedis();
  client = await connectNodeRedis(server.port);
  fleetClients = await Promise.all(Array.from({ length: 4 }, () => connectNodeRedis(server.port)));
});
test.after(async () => {
  client.destroy();
  for (const c of fleetClients) c.destroy();
  await server.stop();
});

const inf = Number.POSITIVE_INFINITY;
const learnt = (limit: number, windowMs: number, startsFrom: StoreRule['startsFrom']): StoreRule => ({
  limit,
  windowMs,
  jitterMs: inf,
  startsFrom,
});
/** The rule `rules: 'auto'` holds a key to while it follows the quota the server states. */
const followingQuota = [learnt(2 ** 31, 1, { fromLog: true, followsQuota: true })];
const lease = (r: TwinLease | number) => {
  assert.type(r, 'object', 'expected a slot');
  return r as TwinLease;
};
const quota = (sentAt: number, at: number, remaining: number, resetAt: number): Answer => ({
  sentAt,
  at,
  status: 200,
  remaining,
  resetAt,
  quotaTrusted: true,
});

test('a followed quota goes epoch by epoch alike: a request alone, then what the lowest remaining leaves, then alone again', async () => {
  const s = twin(client, uniquePrefix());
  const at = (now: number) => input(now, { rules: followingQuota, concurrency: 10 });
  const probe = lease(await s.acquire(at(T), 'probe'));
  assert.is(await s.acquire(at(T + 10), 'while the probe is out'), T + 300_000);
  await probe.release(T + 50, quota(T, T + 50, 2, T + 1000));
  const a = lease(await s.acquire(at(T + 60), 'a'));
  const b = lease(await s.acquire(at(T + 60), 'b'));
  assert.is(await s.acquire(at(T + 61), 'the quota spent by what is in flight'), T + 1000);
  await a.release(T + 100, quota(T + 60, T + 100, 1, T + 1000));
  // A failure may have been counted: it costs the epoch one more.
  await b.release(T + 110, { sentAt: T + 60, at: T + 110 });
  assert.is(await s.acquire(at(T + 120), 'spent'), T + 1000);
  const next = lease(await s.acquire(at(T + 1000), 'the next epoch'));
  assert.is(await s.acquire(at(T + 1001), 'alone again'), T + 301_000);
  await next.release(T + 1040, quota(T + 1000, T + 1040, 0, T + 2000));
  assert.is(await s.acquire(at(T + 1050), 'nothing left'), T + 2000);
  // An answer that states no quota ends the following: the rule alone counts.
  lease(await s.acquire(at(T + 2000)));
});

test('a learnt rule starts alike from what the server counted, from a 429, and from the log of the rule it follows', async () => {
  const s = twin(client, uniquePrefix());
  const counted = [learnt(3, 1000, { counted: 2, at: T })];
  lease(await s.acquire(input(T, { key: 'counted', rules: counted })));
  assert.is(await s.acquire(input(T + 1, { key: 'counted', rules: counted })), T + 1000);
  // And one more, the newest, later: the first two free together, the newest a window after it.
  const newest = [learnt(4, 1000, { counted: 2, at: T, newestAt: T + 300 })];
  lease(await s.acquire(input(T + 1, { key: 'newest', rules: newest })));
  assert.is(await s.acquire(input(T + 2, { key: 'newest', rules: newest })), T + 1000);
  lease(await s.acquire(input(T + 1000, { key: 'newest', rules: newest })));
  lease(await s.acquire(input(T + 1000, { key: 'newest', rules: newest })));
  assert.is(await s.acquire(input(T + 1000, { key: 'newest', rules: newest })), T + 1300);
  const full = [learnt(2, 1000, { fullUntil: T + 500 })];
  assert.is(await s.acquire(input(T, { key: 'full', rules: full })), T + 500);
  lease(await s.acquire(input(T + 500, { key: 'full', rules: full })));
  // Three sent under 5 per 2 s, one answered: 3 per second takes the log over, and the two in flight, as they end.
  const wide = [learnt(5, 2000, { fromLog: true })];
  const sent = [];
  for (let i = 0; i < 3; i++) sent.push(lease(await s.acquire(input(T + i * 10, { key: 'log', rules: wide }))));
  await sent[0]?.release(T + 100, { sentAt: T, at: T + 100, status: 200 });
  const narrow = [learnt(3, 1000, { fromLog: true })];
  assert.is(await s.acquire(input(T + 200, { key: 'log', rules: narrow }), 'taken over'), T + 1100);
  await sent[1]?.release(T + 300, { sentAt: T + 10, at: T + 300, status: 200 });
  assert.is(await s.acquire(input(T + 400, { key: 'log', rules: narrow }), 'counted in the log taken over'), T + 1100);
  lease(await s.acquire(input(T + 1100, { key: 'log', rules: narrow })));
  assert.is(await s.acquire(input(T + 1100, { key: 'log', rules: narrow })), T + 1300);
});

test('a 429 that refused requests in flight pauses the key alike, and takes no rule to be full', async () => {
  const s = twin(client, uniquePrefix());
  const rules = [learnt(5, 1000, { fromLog: true })];
  const a = lease(await s.acquire(input(T, { rules })));
  lease(await s.acquire(input(T, { rules })));
  const refused = { sentAt: T, at: T + 50, status: 429, retryAt: T + 1000, remaining: 3, resetAt: T + 1000, concurrencyRefused: true };
  await a.release(T + 50, refused);
  // Paused until its Retry-After, then free: no assumed-full window after it.
  assert.is(await s.acquire(input(T + 60, { rules })), T + 1000);
  const probe = lease(await s.acquire(input(T + 1000, { rules })));
  await probe.release(T + 1010, { sentAt: T + 1000, at: T + 1010, status: 200 });
  lease(await s.acquire(input(T + 1020, { rules })));
  lease(await s.acquire(input(T + 1020, { rules })));
});

test('a learnt policy is kept for the fleet: another process gets it with its next acquire, stamp and all', async () => {
  const prefix = uniquePrefix();
  const a = redisRateLimitStore({ client, prefix, onError: 'fail-closed' });
  const b = redisRateLimitStore({ client, prefix, onError: 'fail-closed' });
  const rules = [learnt(1, 1, { fromLog: true })];
  const first = await b.acquire(input(T, { rules, policyStamp: 0 }));
  assert.is(first.shared, undefined, 'nothing kept yet');
  const policy = { source: 'announced' as const, rules: [{ limit: 20, windowMs: 2000 }] };
  const stamp = await a.sharePolicy('fleet', { policy, evidence: 'RateLimit-Policy announced 20 per 2000 ms' }, T);
  assert.is(stamp, 1);
  const second = await b.acquire(input(T + 1, { rules, policyStamp: 0 }));
  assert.equal(second.shared, { stamp: 1, policy, evidence: 'RateLimit-Policy announced 20 per 2000 ms' });
  const third = await b.acquire(input(T + 2, { rules, policyStamp: 1 }));
  assert.is(third.shared, undefined, 'the caller holds it already');
  // Something else under the key (damaged, or another version's) is not a policy.
  await client.hSet(`${prefix}:rl:{fleet}:policy`, 'policy', '{"source":"announced","rules":[{"limit":0}]}');
  assert.is((await b.acquire(input(T + 3, { rules, policyStamp: 0 }))).shared, undefined);
});

test("where a key's requests go (a 'named' policy) is kept for the fleet; a damaged one is ignored", async () => {
  const prefix = uniquePrefix();
  const a = redisRateLimitStore({ client, prefix, onError: 'fail-closed' });
  const b = redisRateLimitStore({ client, prefix, onError: 'fail-closed' });
  const rules = [learnt(1, 1, { fromLog: true })];
  const policy = { source: 'named' as const, rules: [], quotas: { fallback: 'core', endpoints: { '/search/code': 'search' } } };
  const evidence = 'answers name the quota they were counted against: /search/code under search, the others under core';
  assert.is(await a.sharePolicy('fleet', { policy, evidence }, T), 1);
  assert.equal((await b.acquire(input(T + 1, { rules, policyStamp: 0 }))).shared, { stamp: 1, policy, evidence });
  const damaged = [
    { fallback: 'core', endpoints: { '/search/code': 'not a name' } },
    { fallback: '', endpoints: {} },
    { fallback: 'core', endpoints: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`/e${i}`, 'search'])) },
    { fallback: 'core' },
  ];
  for (const quotas of damaged) {
    await client.hSet(`${prefix}:rl:{fleet}:policy`, 'policy', JSON.stringify({ source: 'named', rules: [], quotas, evidence: '' }));
    assert.is((await b.acquire(input(T + 2, { rules, policyStamp: 0 }))).shared, undefined, JSON.stringify(quotas).slice(0, 80));
  }
});

const ORIGIN = 'https://api.example';
const LIMIT = 20;
const WINDOW_MS = 2000;

/**
 * `count` requests spread over `processes` pipelines (each its own limiter, learner and Redis connection) with
 * `rules: 'auto'`, against a sliding log of 20 per 2 s stating its quota as `evidence` says, on one virtual clock.
 */
async function fleetRun(processes: number, evidence: Evidence, { count = 120, prefix = uniquePrefix('learn') } = {}) {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  const model = createServer({ clock, counting: 'sliding', random: seeded(18), limit: LIMIT, windowMs: WINDOW_MS, latency: [25, 75] });
  const fetch = async (request: Request) => reform(await model.fetch(request), evidence, LIMIT, WINDOW_MS, clock.now());
  const limiters = fleetClients
    .slice(0, processes)
    .map((c) => rateLimit({ rules: 'auto', store: redisRateLimitStore({ client: io.wrap(fromNodeRedis(c)), prefix }) }));
  const learnt: SluiceEvents['rate-limit:learned'][][] = limiters.map(() => []);
  const apis = limiters.map((limiter, i) => {
    const api = compose([limiter], { fetch, clock });
    api.events.on('rate-limit:learned', (e) => learnt[i]?.push(e));
    return api;
  });
  let done = 0;
  let last = T;
  for (let i = 0; i < count; i++)
    apis[i % processes]?.(`${ORIGIN}/v2/e${i % 3}`).then(
      (r) => {
        done++;
        last = clock.now();
        return r.body?.cancel();
      },
      () => done++,
    );
  await virtual.drive(io, () => done === count);
  await Promise.all(apis.map((api) => api.close()));
  await io.settle();
  return { refused: model.refused, elapsedMs: last - T, policies: limiters.map((l) => l.policyOf(ORIGIN)), learnt };
}

for (const evidence of ['ietf', 'x-ratelimit', 'retry-after', 'nothing'] as const)
  test(`a fleet of 4 learns from ${evidence} headers with no more 429s than one process, and holds one policy`, async () => {
    const one = await fleetRun(1, evidence);
    const four = await fleetRun(4, evidence);
    assert.ok(four.refused <= one.refused, `fleet ${four.refused} 429s, one process ${one.refused}`);
    if (evidence === 'ietf') assert.is(four.refused, 0);
    assert.ok(four.elapsedMs <= one.elapsedMs * 1.1, `fleet ${four.elapsedMs} ms, one process ${one.elapsedMs} ms`);
    const signatures = new Set(four.policies.map((p) => JSON.stringify(p)));
    assert.is(signatures.size, 1, `one policy across the fleet: ${[...signatures].join(' | ')}`);
    console.log(
      `  ${evidence}: one process ${one.refused} 429s in ${one.elapsedMs} ms; fleet of 4 ${four.refused} in ${four.elapsedMs} ms; ${[...signatures][0]}`,
    );
  });

test('a fleet of 4 counts each quota the server names apart, in Redis: core is not held back by search, nor search by core', async () => {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  const prefix = uniquePrefix('named');
  const { quotas, fetch } = twoQuotas(clock);
  const limiters = fleetClients.map((c) =>
    rateLimit({ rules: 'auto', store: redisRateLimitStore({ client: io.wrap(fromNodeRedis(c)), prefix }) }),
  );
  const apis = limiters.map((limiter) => compose([limiter], { fetch, clock }));
  const done = { core: T, search: T, count: 0 };
  const urls = [...Array.from({ length: 30 }, () => '/search/code'), ...Array.from({ length: 120 }, (_, i) => `/repos/o/r/e${i % 3}`)];
  urls.forEach((path, i) => {
    apis[i % apis.length]?.(`${ORIGIN}${path}`).then(
      (r) => {
        done[path.startsWith('/search') ? 'search' : 'core'] = clock.now();
        done.count++;
        return r.body?.cancel();
      },
      () => done.count++,
    );
  });
  await virtual.drive(io, () => done.count === urls.length);
  await Promise.all(apis.map((api) => api.close()));
  await io.settle();
  assert.is(quotas.core.refused, 0);
  // Each process follows the search quota its answers state: beside a busy core, one of them read it a round trip
  // behind the others once in 8 runs and sent one too many (a fleet following a stated quota, named or not).
  assert.ok(quotas.search.refused <= 1, `${quotas.search.refused} 429s`);
  assert.ok(done.core - T < 5000, `core took ${done.core - T} ms`);
  // 30 searches at 10 per fixed 10 s window, across the fleet: the third window's (each process follows the quota the
  // answers state, a round trip or two behind the others: 22.5 s in most runs).
  assert.ok(done.search - T >= 20_000 && done.search - T < 25_000, `search took ${done.search - T} ms`);
  for (const limiter of limiters) for (const rule of limiter.policyOf(`${ORIGIN}#search`)?.rules ?? []) assert.is(rule.limit, 10);
});

test('a fleet of 4 counts apart the quotas endpoints state without naming them, in Redis: no 429, each at its own pace', async () => {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  const prefix = uniquePrefix('stated');
  // 10, 20 and 40 per 2 s, fixed windows, X-RateLimit-* stated per endpoint: 60 requests to each.
  const { servers, fetch } = perEndpointQuotas(clock, 'fixed', [10, 20, 40], WINDOW_MS, 'x-ratelimit');
  const limiters = fleetClients.map((c) =>
    rateLimit({ rules: 'auto', store: redisRateLimitStore({ client: io.wrap(fromNodeRedis(c)), prefix }) }),
  );
  const apis = limiters.map((limiter) => compose([limiter], { fetch, clock }));
  const doneAt = [T, T, T];
  let count = 0;
  const total = 180;
  for (let i = 0; i < total; i++)
    apis[i % apis.length]?.(`${ORIGIN}/v2/e${i % 3}`).then(
      (r) => {
        doneAt[i % 3] = clock.now();
        count++;
        return r.body?.cancel();
      },
      () => count++,
    );
  await virtual.drive(io, () => count === total);
  await Promise.all(apis.map((api) => api.close()));
  await io.settle();
  assert.equal(
    servers.map((s) => s.refused),
    [0, 0, 0],
  );
  // As one quota the limits stated mixed, and requests were refused. 60 requests at 40 per 2 s: the second window's at
  // best, the third's here (each process splits the key after its first answers); at 10 per 2 s, the sixth's.
  assert.ok((doneAt[2] as number) - T < 6000, `the 40 per 2 s endpoint took ${(doneAt[2] as number) - T} ms`);
  assert.ok((doneAt[0] as number) - T < 13_000, `the 10 per 2 s endpoint took ${(doneAt[0] as number) - T} ms`);
  console.log(`  stated per endpoint, fleet of 4: done at ${doneAt.map((t) => t - T).join(', ')} ms`);
  for (const limiter of limiters) assert.is(limiter.policyOf(ORIGIN)?.source, 'named');
});

// A sliding log is read from what is left as the key's own requests age (`aging-reading.ts`): once another process
// joins, each sees the other's requests counted beside its own, and its reading no longer fits. The rule is kept all
// the same, as Redis counts every process's requests under it (a 429 would bring the quota back): the process that read
// it took the quota up again and shared that, 0.4 s after the other joined.
test("a process that joins the fleet's sliding log, read by another, keeps it: its own reading counts the others' requests too", async () => {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  const prefix = uniquePrefix('aging');
  const model = createServer({ clock, counting: 'sliding', random: seeded(18), limit: LIMIT, windowMs: WINDOW_MS, latency: [25, 75] });
  const fetch = async (request: Request) => reform(await model.fetch(request), 'x-ratelimit', LIMIT, WINDOW_MS, clock.now());
  const [first, joining] = [0, 1].map((i) =>
    rateLimit({
      rules: 'auto',
      maxQueue: 1000,
      store: redisRateLimitStore({ client: io.wrap(fromNodeRedis(fleetClients[i] as NodeRedisClient)), prefix }),
    }),
  ) as [ReturnType<typeof rateLimit>, ReturnType<typeof rateLimit>];
  const apis = [first, joining].map((limiter) => compose([limiter], { fetch, clock }));
  let done = 0;
  const send = (api: (typeof apis)[number], count: number) => {
    for (let i = 0; i < count; i++)
      api(`${ORIGIN}/v2/e${i % 3}`).then(
        (r) => {
          done++;
          return r.body?.cancel();
        },
        () => done++,
      );
  };
  send(apis[0] as (typeof apis)[number], 300);
  await virtual.drive(io, () => first.policyOf(ORIGIN)?.source === 'sliding-log');
  send(apis[1] as (typeof apis)[number], 100);
  await virtual.drive(io, () => done === 400);
  await Promise.all(apis.map((api) => api.close()));
  await io.settle();
  assert.is(model.refused, 0);
  assert.is(joining.policyOf(ORIGIN)?.source, 'sliding-log', JSON.stringify(joining.policyOf(ORIGIN)));
  assert.is(first.policyOf(ORIGIN)?.source, 'sliding-log', JSON.stringify(first.policyOf(ORIGIN)));
});

test('a process that starts later holds what the fleet learnt from its first request on', async () => {
  const prefix = uniquePrefix('later');
  await fleetRun(2, 'ietf', { count: 60, prefix });
  const later = await fleetRun(1, 'ietf', { count: 5, prefix });
  const adopted = later.learnt[0]?.[0];
  assert.ok(adopted?.evidence.startsWith('learnt by another process of the fleet: RateLimit-Policy'), adopted?.evidence);
  assert.equal(adopted?.policy, { source: 'announced', rules: [{ limit: LIMIT, windowMs: WINDOW_MS }] });
});

test('against the reference simulator a fleet of 4 sharing its tokens follows the quota together: no 429, the documented pace', async () => {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  // Tokens of 5 s: the fleet refreshes one many times, and requests wait for it with their slots taken (holding them,
  // the fleet took twice as long).
  const mock = createMockServer({ clock, latencyMs: { min: 5, max: 80 }, seed: 7, tokenTtlMs: 5000 });
  const prefix = uniquePrefix('reference');
  const base = 'https://tenant.cyberhaven.io';
  const limiters = fleetClients.map((c) =>
    rateLimit({ rules: 'auto', store: redisRateLimitStore({ client: io.wrap(fromNodeRedis(c)), prefix }) }),
  );
  const apis = limiters.map((limiter, i) => {
    const client = io.wrap(fromNodeRedis(fleetClients[i] as NodeRedisClient));
    const tokens = redisTokenStore({ client, prefix, encryptionKey: 'learning-test-secret-0123456789abcdef', clock });
    return compose([authToken({ apiKey: 'mock_admin_key_0123456789', baseUrl: base, store: tokens }), limiter], {
      fetch: mock.fetch,
      clock,
    });
  });
  const policies: string[] = [];
  const fallbacks: string[] = [];
  for (const api of apis) {
    api.events.on('rate-limit:learned', (e) => e.policy && policies.push(e.policy.source));
    api.events.on('redis:fallback', (e) => fallbacks.push(`${e.store} ${e.operation} ${e.reason}`));
  }
  const statuses: number[] = [];
  let last = T;
  for (let i = 0; i < 150; i++)
    apis[i % 4]?.(`${base}/v2/admin/api-keys`).then(
      async (r) => {
        await r.body?.cancel();
        statuses.push(r.status);
        last = clock.now();
      },
      () => statuses.push(0),
    );
  await virtual.drive(io, () => statuses.length === 150);
  await Promise.all(apis.map((api) => api.close()));
  await io.settle();
  const stats = mock.stats();
  // A request waiting for the fleet's new token gives its slot back: the process exchanging needs it, and holds the lock.
  assert.equal(fallbacks, [], 'no lock waited out');
  assert.is(stats.rateLimited, 0, 'no 429');
  assert.equal(statuses, Array(150).fill(200));
  // 150 requests and the fleet's token exchanges at 60 a minute: the last minute starts once the first ones are a minute old.
  const least = Math.floor((stats.requests - 1) / 60) * 60_000;
  assert.ok(last - T <= least * 1.1 + 5000, `${last - T} ms for ${stats.requests} requests (least ${least} ms)`);
  console.log(
    `  reference: ${stats.rateLimited} 429s, ${stats.requests} requests in ${(last - T) / 1000} s, ${stats.tokenExchanges} exchanges; policies learnt: ${policies.join(', ')}`,
  );
});

test.run();
