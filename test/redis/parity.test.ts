// The Redis store runs the memory store's algorithm: the same calls get the same answers, in the memory store's own
// scenarios and over long random runs.
import type { AcquireInput, StoreRule } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNodeRedis, type NodeRedisClient, T, uniquePrefix } from './helpers.js';
import { type RedisServer, startRedis } from './server.js';
import { type TwinLease, twin } from './twin.js';

let server: RedisServer;
let client: NodeRedisClient;
test.before(async () => {
  server = await startRedis();
  client = await connectNodeRedis(server.port);
});
test.after(async () => {
  client.destroy();
  await server.stop();
});

const inf = Number.POSITIVE_INFINITY;
const perMinute: StoreRule = { limit: 60, windowMs: 60_000, jitterMs: inf };
const input = (now: number, more: Partial<AcquireInput> = {}): AcquireInput => ({
  key: 'k',
  endpoint: '/v2/items',
  now,
  rules: [{ limit: 2, windowMs: 1000, jitterMs: inf }],
  concurrency: 5,
  leaseMs: 300_000,
  ...more,
});
const lease = (r: TwinLease | number) => {
  assert.type(r, 'object', 'expected a slot');
  return r as TwinLease;
};

test('counts from the response, frees in-flight entries only on release, and spaces by every rule alike', async () => {
  const s = twin(client, uniquePrefix());
  await lease(await s.acquire(input(T))).release(T + 300);
  await lease(await s.acquire(input(T + 10))).release(T + 400);
  assert.is(await s.acquire(input(T + 500)), T + 1300);
  lease(await s.acquire(input(T + 1300)));
  lease(await s.acquire(input(T + 1400)));
  assert.is(await s.acquire(input(T + 9000)), T + 1300 + 300_000 + 1000, 'entries in flight count from send + leaseMs');
  const rules = [perMinute, { limit: 1, windowMs: 1000, jitterMs: inf }];
  let now = T;
  for (let i = 0; i < 60; i++) {
    const r = await s.acquire(input(now, { key: 'both', rules }));
    if (typeof r === 'number') {
      now = r;
      i--;
    } else await r.release(now);
  }
  assert.is(now, T + 59_000);
  assert.is(await s.acquire(input(now + 500, { key: 'both', rules })), T + 60_000);
});

test('counts from send plus jitterMs, and holds slots until released, expired or given a later end', async () => {
  const s = twin(client, uniquePrefix());
  await lease(await s.acquire(input(T, { rules: [{ limit: 1, windowMs: 1000, jitterMs: 50 }] }))).release(T + 800);
  assert.is(await s.acquire(input(T + 900, { rules: [{ limit: 1, windowMs: 1000, jitterMs: 50 }] })), T + 1050);
  const c = { rules: [perMinute], concurrency: 1, leaseMs: 10_000, key: 'slots' };
  await lease(await s.acquire(input(T, c))).release(T + 1100);
  assert.is(await s.acquire(input(T + 100, c)), T + 1100);
  lease(await s.acquire(input(T + 1100, c)));
  assert.is(await s.acquire(input(T + 11_099, c)), T + 11_100);
  lease(await s.acquire(input(T + 11_100, c)));
  lease(await s.acquire(input(T + 11_100, { ...c, endpoint: '/v2/other' })));
});

test('keeps to the budget, ignores older answers, and probes after a pause', async () => {
  const s = twin(client, uniquePrefix());
  const rules = [perMinute];
  const first = lease(await s.acquire(input(T, { rules })));
  const second = lease(await s.acquire(input(T, { rules })));
  await s.sync('k', second, T + 50, 2, T + 30_000);
  await s.sync('k', first, T + 60, 40, T + 30_000);
  lease(await s.acquire(input(T + 100, { rules })));
  lease(await s.acquire(input(T + 100, { rules })));
  assert.is(await s.acquire(input(T + 100, { rules })), T + 30_000);
  assert.is(await s.pause('p', T + 5000, T, rules, false), T + 5000);
  assert.is(await s.acquire(input(T, { key: 'p', rules })), T + 5000);
  const probe = lease(await s.acquire(input(T + 5000, { key: 'p', rules })));
  assert.is(typeof (await s.acquire(input(T + 5000, { key: 'p', rules }))), 'number');
  await s.sync('p', probe, T + 5200);
  lease(await s.acquire(input(T + 5200, { key: 'p', rules })));
});

test('pauses like the memory store: spent budgets, probes, skipped pauses and a refused fill', async () => {
  const s = twin(client, uniquePrefix());
  const rules = [perMinute];
  const sent = lease(await s.acquire(input(T, { key: 'spent', rules })));
  await s.sync('spent', sent, T + 100, 0, T + 30_000);
  assert.is(await s.pause('spent', T + 1100, T + 100, rules, true), T + 30_000);
  await s.pause('probe', T + 1000, T, rules, false);
  lease(await s.acquire(input(T + 1000, { key: 'probe', rules })));
  assert.is(await s.pause('probe', T + 3000, T + 1500, rules, true), T + 3000);
  const one = [{ limit: 1, windowMs: 60_000, jitterMs: inf }];
  await lease(await s.acquire(input(T, { key: 'skip', rules: one }))).release(T + 100);
  assert.is(await s.pause('skip', T + 60_000, T + 100, one, false), 0);
  assert.is(await s.pause('skip', T + 62_000, T + 100, one, false), T + 62_000);
  const four = [{ limit: 4, windowMs: 4000, jitterMs: inf }];
  assert.is(await s.pause('fill', T + 10_000, T, four, true), T + 10_000);
  assert.is(await s.pause('fill', T + 10_000, T, four, true), 0);
  const sends: number[] = [];
  let now = T;
  while (sends.length < 4) {
    const r = await s.acquire(input(now, { key: 'fill', rules: four }));
    if (typeof r === 'number') now = r;
    else {
      sends.push(now - T);
      await r.release(now);
      await s.sync('fill', r, now);
    }
  }
  assert.equal(sends, [10_000, 11_000, 12_000, 13_000]);
});

test('a bucket rule answers alike: its burst, its refill, entries in flight, a refused pause', async () => {
  const s = twin(client, uniquePrefix());
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: inf, burst: 3 }];
  for (let i = 0; i < 3; i++) await lease(await s.acquire(input(T, { rules }))).release(T + 100);
  assert.is(await s.acquire(input(T + 100, { rules })), T + 1100);
  const held = lease(await s.acquire(input(T + 1100, { rules })));
  assert.is(typeof (await s.acquire(input(T + 1200, { rules }))), 'number');
  await held.release(T + 1300);
  assert.is(await s.acquire(input(T + 1400, { rules })), T + 2100);
  const jittered = [{ limit: 10, windowMs: 1000, jitterMs: 3, burst: 2 }];
  let now = T;
  const sends: number[] = [];
  while (sends.length < 5) {
    const r = await s.acquire(input(now, { key: 'j', rules: jittered, concurrency: 10 }));
    if (typeof r === 'number') now = r;
    else {
      sends.push(now - T);
      await r.release(now + 50);
    }
  }
  assert.equal(sends, [0, 0, 103, 203, 303]);
  assert.is(await s.pause('j', T + 10_000, now, jittered, true), T + 10_000);
  assert.is(await s.acquire(input(T + 9999, { key: 'j', rules: jittered })), T + 10_000);
  lease(await s.acquire(input(T + 10_000, { key: 'j', rules: jittered })));
});

// A small seeded PRNG (mulberry32), so a failing run repeats.
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

async function randomRun(seed: number, steps: number) {
  const random = prng(seed);
  const s = twin(client, uniquePrefix(`r${seed}`));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
  const ruleSets: StoreRule[][] = [
    [{ limit: 3, windowMs: 1000, jitterMs: inf }],
    [
      { limit: 5, windowMs: 4000, jitterMs: inf },
      { limit: 1, windowMs: 300, jitterMs: 120 },
    ],
    [{ limit: 2, windowMs: 1000, jitterMs: inf, burst: 3 }],
    [
      { limit: 7, windowMs: 3000, jitterMs: inf, burst: 4 },
      { limit: 1, windowMs: 250, jitterMs: 90 },
    ],
  ];
  const held: { key: string; lease: TwinLease; endsAt: number }[] = [];
  let now = T;
  for (let i = 0; i < steps; i++) {
    now += random() < 0.05 ? 5000 : random() * 400;
    // Leases end before they expire: once one expires, the memory store may drop the key, and a late answer then syncs
    // against a sequence number from before (a memory-store quirk, reported), where the Redis store keeps counting.
    for (const h of held.filter((x) => x.endsAt <= now)) {
      held.splice(held.indexOf(h), 1);
      await h.lease.release(h.endsAt - 1);
      await s.sync(h.key, h.lease, h.endsAt - 1);
    }
    const keyIndex = Math.floor(random() * ruleSets.length);
    const key = `k${keyIndex}`;
    const rules = ruleSets[keyIndex] as StoreRule[];
    const roll = random();
    if (roll < 0.5) {
      const leaseMs = pick([2000, 10_000]);
      const r = await s.acquire({ key, endpoint: pick(['/a', '/b']), now, rules, concurrency: 2, leaseMs }, `#${i} seed ${seed}`);
      if (typeof r !== 'number') held.push({ key, lease: r, endsAt: now + leaseMs });
    } else if (roll < 0.85 && held.length) {
      const [h] = held.splice(Math.floor(random() * held.length), 1);
      const { key: k, lease: l } = h as (typeof held)[number];
      await l.release(now + (random() < 0.2 ? 1000 : 0));
      const remaining = random() < 0.5 ? Math.floor(random() * 4) : undefined;
      await s.sync(k, l, now, remaining, remaining === undefined ? undefined : now + random() * 3000);
    } else {
      await s.pause(key, now + random() * 3000, now, rules, random() < 0.5, `#${i} seed ${seed}`);
    }
  }
}

test('answers like the memory store over 3 random runs of 900 calls (acquire, release, sync, pause; four keys: logs, buckets, both)', async () => {
  for (const seed of [1, 2, 3]) await randomRun(seed, 900);
});

test.run();
