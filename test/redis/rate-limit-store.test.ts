// What the Redis store adds to the algorithm: one count for every process, leases that outlive a crash by leaseMs only,
// waits no longer than pollMs for another process's release, keys that are namespaced and Cluster-safe.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { compose } from '@sluice/core';
import { type Lease, rateLimit } from '@sluice/rate-limit';
import { fromIoredis, redisRateLimitStore } from '@sluice/redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNodeRedis, IORedis, input, type NodeRedisClient, rules, T, uniquePrefix } from './helpers.js';
import { type RedisServer, startRedis } from './server.js';

let server: RedisServer;
let a: NodeRedisClient;
let b: NodeRedisClient;
test.before(async () => {
  server = await startRedis();
  [a, b] = await Promise.all([connectNodeRedis(server.port), connectNodeRedis(server.port)]);
});
test.after(async () => {
  a.destroy();
  b.destroy();
  await server.stop();
});

const pair = (pollMs = 100) => {
  const prefix = uniquePrefix();
  return [
    redisRateLimitStore({ client: a, prefix, pollMs, onError: 'fail-closed' }),
    redisRateLimitStore({ client: b, prefix, pollMs, onError: 'fail-closed' }),
  ];
};

test('processes share the concurrency slots of an endpoint', async () => {
  const [one, two] = pair();
  for (let i = 0; i < 3; i++) assert.ok((await one!.acquire(input(T))).ok);
  for (let i = 0; i < 2; i++) assert.ok((await two!.acquire(input(T))).ok);
  assert.is((await one!.acquire(input(T))).ok, false);
  assert.is((await two!.acquire(input(T))).ok, false);
  assert.ok((await two!.acquire(input(T, { endpoint: '/v2/other' }))).ok);
});

test('processes share one log per key: 60 in a minute for the fleet, not per process', async () => {
  const [one, two] = pair();
  let sent = 0;
  for (let i = 0; i < 40; i++) {
    for (const store of [one!, two!]) {
      const result = await store.acquire(input(T + i, { concurrency: Number.POSITIVE_INFINITY }));
      if (result.ok) {
        sent++;
        await result.release(T + i);
      }
    }
  }
  assert.is(sent, 60);
  assert.equal(
    await one!.acquire(input(T + 100, { concurrency: 1 })),
    { ok: false, retryAt: T + 60_000, blocked: 'key' },
    'released entries give the exact time',
  );
});

test('a wait another process can shorten lasts at most pollMs, and ends as soon as it released', async () => {
  const [one, two] = pair(100);
  const held = (await one!.acquire(input(T, { concurrency: 1 }))) as Lease;
  assert.equal(await two!.acquire(input(T + 10, { concurrency: 1 })), { ok: false, retryAt: T + 110, blocked: 'endpoint' });
  await held.release(T + 50);
  assert.ok((await two!.acquire(input(T + 110, { concurrency: 1 }))).ok);
});

test('with a subscriber, a waiting process hears at once that another one freed capacity, and nobody polls', async () => {
  const prefix = uniquePrefix();
  const listener = await connectNodeRedis(server.port);
  try {
    const one = redisRateLimitStore({ client: a, prefix, pollMs: 100, onError: 'fail-closed' });
    const two = redisRateLimitStore({ client: b, prefix, pollMs: 100, subscriber: listener, onError: 'fail-closed' });
    const heard: string[] = [];
    const off = two.onFreed((key) => heard.push(key));
    await new Promise((r) => setTimeout(r, 50)); // the SUBSCRIBE lands
    const held = (await one.acquire(input(T, { concurrency: 1 }))) as Lease;
    assert.equal(
      await two.acquire(input(T + 10, { concurrency: 1 })),
      { ok: false, retryAt: T + 300_000, blocked: 'endpoint' },
      'no pollMs cap: the release will be heard',
    );
    await held.release(T + 50);
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(heard, ['fleet']);
    assert.ok((await two.acquire(input(T + 50, { concurrency: 1 }))).ok);
    await ((await one.acquire(input(T + 60, { concurrency: 5 }))) as Lease).release(T + 70);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(heard, ['fleet'], 'a release with nobody refused since publishes nothing');
    off();
  } finally {
    listener.destroy();
  }
});

test('a rule of ten million a day keeps a few hundred bytes in Redis, and each script stays fast, whatever the traffic', async () => {
  const prefix = uniquePrefix();
  const store = redisRateLimitStore({ client: a, prefix, pollMs: Number.POSITIVE_INFINITY, onError: 'fail-closed' });
  const huge = [{ limit: 10_000_000, windowMs: 86_400_000, jitterMs: Number.POSITIVE_INFINITY }];
  // 2,000 sends over a day, a 429 among them: 64 cells of the day at most, and the assumed-full day as a formula.
  for (let i = 0; i < 2000; i++) {
    const at = T + i * 43_200;
    const lease = (await store.acquire(input(at, { rules: huge, concurrency: 10 }))) as Lease;
    assert.ok(lease.ok, `send ${i}: ${JSON.stringify(lease)}`);
    await lease.release(at + 20, { sentAt: at, at: at + 20, status: i === 1000 ? 429 : 200, retryAt: i === 1000 ? at + 1020 : undefined });
    if (i === 1000) {
      const probe = (await store.acquire(input(at + 1020, { rules: huge, concurrency: 10 }))) as Lease;
      await probe.release(at + 1040, { sentAt: at + 1020, at: at + 1040, status: 200 });
    }
  }
  let bytes = 0;
  for (const key of (await a.keys(`${prefix}*`)) as string[]) bytes += Number(await a.sendCommand(['MEMORY', 'USAGE', key]));
  assert.ok(bytes < 8192, `${bytes} bytes in Redis`);
});

test('a lease released at -Infinity (never sent) frees its slot and its entry for every process at once', async () => {
  const [one, two] = pair();
  const single = { concurrency: 1, rules: [{ limit: 1, windowMs: 60_000, jitterMs: Number.POSITIVE_INFINITY }] };
  const held = (await one!.acquire(input(T, single))) as Lease;
  assert.ok(held.ok);
  assert.is((await two!.acquire(input(T + 10, single))).ok, false);
  await held.release(Number.NEGATIVE_INFINITY);
  const next = (await two!.acquire(input(T + 10, single))) as Lease;
  assert.ok(next.ok);
  await next.release(T + 20);
  assert.equal(await one!.acquire(input(T + 30, single)), { ok: false, retryAt: T + 60_020, blocked: 'key' }, 'the one sent still counts');
  // A bucket does not fold it in either: a burst of 2 goes to the two sent.
  const bucket = { key: 'bucket', rules: [{ limit: 1, windowMs: 1000, burst: 2, jitterMs: Number.POSITIVE_INFINITY }] };
  for (const [at, countedBy] of [
    [T, T],
    [T + 5, Number.NEGATIVE_INFINITY],
    [T + 10, T + 10],
  ] as const)
    await ((await one!.acquire(input(at, bucket))) as Lease).release(countedBy);
  assert.equal(await two!.acquire(input(T + 20, bucket)), { ok: false, retryAt: T + 1000, blocked: 'key' });
});

test('a slot held by a killed process is free once its lease has run out, not before', async () => {
  const prefix = uniquePrefix();
  const leaseMs = 30_000;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'worker.ts'), String(server.port), prefix, String(T), String(leaseMs)],
    {
      cwd: resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = await once(child.stdout!, 'data');
  assert.is(String(line).trim(), 'acquired');
  child.kill('SIGKILL');
  await once(child, 'exit');
  const store = redisRateLimitStore({ client: a, prefix, pollMs: Number.POSITIVE_INFINITY, onError: 'fail-closed' });
  assert.equal(await store.acquire(input(T + leaseMs - 1, { concurrency: 1, leaseMs })), {
    ok: false,
    retryAt: T + leaseMs,
    blocked: 'endpoint',
  });
  assert.ok((await store.acquire(input(T + leaseMs + 1, { concurrency: 1, leaseMs }))).ok);
});

test('stores with different prefixes share nothing, and every key they write starts with their prefix', async () => {
  const [x, y] = [uniquePrefix('x'), uniquePrefix('y')];
  const one = redisRateLimitStore({ client: a, prefix: x, onError: 'fail-closed' });
  const two = redisRateLimitStore({ client: a, prefix: y, onError: 'fail-closed' });
  for (let i = 0; i < 5; i++) assert.ok((await one.acquire(input(T))).ok);
  assert.is((await one.acquire(input(T))).ok, false);
  assert.ok((await two.acquire(input(T))).ok, 'the other prefix has its own slots');
  await one.pause('fleet', T + 5000, T, rules);
  const keys = (await a.keys(`${x}*`)) as string[];
  assert.ok(keys.length >= 3);
  for (const key of keys) assert.ok(key.startsWith(`${x}:rl:{fleet}`), key);
  assert.is(((await a.keys(`${y}*`)) as string[]).filter((k) => !k.startsWith(`${y}:rl:{fleet}`)).length, 0);
});

test('keys get a hash tag per rate-limit key, with braces escaped, and a TTL that only collects garbage', async () => {
  const prefix = uniquePrefix();
  const store = redisRateLimitStore({ client: a, prefix, onError: 'fail-closed' });
  assert.ok((await store.acquire(input(T, { key: 'https://a{b}%' }))).ok);
  const keys = (await a.keys(`${prefix}*`)) as string[];
  assert.is(keys.length, 4, keys.join()); // the key's state, the endpoint's slots, the rule's state and its requests in flight
  for (const key of keys) {
    assert.ok(key.startsWith(`${prefix}:rl:{https://a%7Bb%7D%25}`), key);
    const ttl = await a.pTTL(key);
    assert.ok(ttl > 60_000 && ttl <= 780_000, `${key} ttl ${ttl}`);
  }
});

test('runs on a Redis Cluster node: every script touches one slot', async () => {
  const cluster = await startRedis({ cluster: true });
  const client = await connectNodeRedis(cluster.port);
  try {
    const store = redisRateLimitStore({ client, onError: 'fail-closed' });
    const twoRules = [...rules, { limit: 1, windowMs: 1000, jitterMs: 200 }];
    const lease = (await store.acquire(input(T, { rules: twoRules }))) as Lease;
    assert.ok(lease.ok);
    await lease.release(T + 10, { sentAt: T, at: T + 10, status: 200, remaining: 5, resetAt: T + 60_000 });
    const refused = (await store.acquire(input(T + 2000, { rules: twoRules }))) as Lease;
    assert.equal(await refused.release(T + 2010, { sentAt: T + 2000, at: T + 2010, status: 429, retryAt: T + 3010 }), {
      paused: { until: T + 3010, reason: '429' },
    });
    assert.is(await store.pause('fleet', T + 5000, T + 2010, twoRules), T + 5000);
    const crossSlot = await client
      .eval("return redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[2])", { keys: ['a', 'b'] })
      .catch((e: Error) => e.message);
    assert.match(String(crossSlot), /CROSSSLOT/, 'the node does check slots');
  } finally {
    client.destroy();
    await cluster.stop();
  }
});

test('works through ioredis as through node-redis', async () => {
  const io = new IORedis(server.port, '127.0.0.1');
  try {
    const prefix = uniquePrefix();
    const viaIo = redisRateLimitStore({ client: io, prefix, onError: 'fail-closed' });
    const viaNode = redisRateLimitStore({ client: a, prefix, onError: 'fail-closed' });
    for (let i = 0; i < 4; i++) assert.ok((await viaIo.acquire(input(T))).ok);
    assert.ok((await viaNode.acquire(input(T))).ok);
    assert.is((await viaIo.acquire(input(T))).ok, false);
    assert.ok(redisRateLimitStore({ client: fromIoredis(io), prefix, onError: 'fail-closed' }));
  } finally {
    io.disconnect();
  }
});

test('an endless leaseMs holds a slot until it is released', async () => {
  const store = redisRateLimitStore({ client: a, prefix: uniquePrefix(), onError: 'fail-closed', pollMs: Number.POSITIVE_INFINITY });
  const held = (await store.acquire(input(T, { concurrency: 1, leaseMs: Number.POSITIVE_INFINITY }))) as Lease;
  assert.is((await store.acquire(input(T + 86_400_000 * 365, { concurrency: 1 }))).ok, false);
  await held.release(T + 10);
  assert.ok((await store.acquire(input(T + 20, { concurrency: 1 }))).ok);
});

test('close() resolves once the release rateLimit() sent after a response has landed', async () => {
  const prefix = uniquePrefix();
  const store = redisRateLimitStore({ client: a, prefix, onError: 'fail-closed' });
  const api = compose([rateLimit({ store })], {
    fetch: async () => new Response('ok', { headers: { 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': '1' } }),
  });
  assert.is((await api('https://api.example/v2/items')).status, 200);
  await api.close();
  await store.close();
  const slots = (await a.zRangeWithScores(`${prefix}:rl:{https://api.example}:slots:/v2/items`, 0, -1)) as { score: number }[];
  assert.ok(slots.length === 0 || (slots[0] as { score: number }).score <= Date.now(), 'the slot is released');
  assert.is(await a.hGet(`${prefix}:rl:{https://api.example}`, 'budgetLeft'), '7', 'the budget is synced');
});

test('a late answer to a send of an expired state does not widen the new budget', async () => {
  const prefix = uniquePrefix();
  const store = redisRateLimitStore({ client: a, prefix, pollMs: Number.POSITIVE_INFINITY, onError: 'fail-closed' });
  let old = (await store.acquire(input(T, { concurrency: 10 }))) as Lease;
  for (let i = 0; i < 3; i++) old = (await store.acquire(input(T, { concurrency: 10 }))) as Lease;
  // The state hash expired while the answer was on its way (its TTL only collects garbage).
  await a.del(`${prefix}:rl:{fleet}`);
  const fresh = (await store.acquire(input(T + 120_000, { concurrency: 10 }))) as Lease;
  assert.ok((await store.acquire(input(T + 120_000, { concurrency: 10 }))).ok);
  assert.ok(fresh.seq > old.seq, 'numbers are not reused');
  await fresh.observe({ sentAt: T + 120_000, at: T + 120_001, status: 200, remaining: 1, resetAt: T + 150_000 });
  assert.equal(
    await store.acquire(input(T + 120_001, { concurrency: 10 })),
    { ok: false, retryAt: T + 150_000, blocked: 'key' },
    'of 1 left, the 2 sent since took it',
  );
  await old.release(T + 120_002, { sentAt: T, at: T + 120_002, status: 200, remaining: 5, resetAt: T + 150_000 });
  assert.equal(
    await store.acquire(input(T + 120_002, { concurrency: 10 })),
    { ok: false, retryAt: T + 150_000, blocked: 'key' },
    'the stale answer is ignored',
  );
});

test('loads its scripts again after the server forgot them (SCRIPT FLUSH, a restart)', async () => {
  const store = redisRateLimitStore({ client: a, prefix: uniquePrefix(), onError: 'fail-closed' });
  assert.ok((await store.acquire(input(T))).ok);
  await a.scriptFlush();
  assert.ok((await store.acquire(input(T))).ok);
});

test.run();
