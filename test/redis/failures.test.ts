// Redis slow, down, unreachable at start or restarted: bounded waits, the documented fallback, and recovery without a restart.
import { compose, createBus } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { type Lease, rateLimit } from '@sluice/rate-limit';
import {
  fromNodeRedis,
  isRedisUnavailableError,
  type RedisRateLimitStoreOptions,
  redisRateLimitStore,
  redisTokenStore,
} from '@sluice/redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { connectNodeRedis, createIo, input, type NodeRedisClient, ready, steppingClock, switchable, T, uniquePrefix } from './helpers.js';
import { freePort, type RedisServer, startRedis } from './server.js';

let server: RedisServer;
let a: NodeRedisClient;
test.before(async () => {
  server = await startRedis();
  a = await connectNodeRedis(server.port);
});
test.after(async () => {
  a.destroy();
  await server.stop();
});

function recorder() {
  const bus = createBus();
  const events: { type: string; payload: unknown }[] = [];
  bus.on('*', (type, payload) => {
    if (type.startsWith('redis:')) events.push({ type, payload });
  });
  return { bus, events, types: () => events.map((e) => e.type) };
}

const store = (client: RedisRateLimitStoreOptions['client'], more: Partial<RedisRateLimitStoreOptions> = {}) =>
  redisRateLimitStore({ client, prefix: uniquePrefix(), commandTimeoutMs: 100, ...more });

// A script's first run on a server is an EVALSHA answered NOSCRIPT, then an EVAL, which can land after a later call:
// tests about the order of calls load the scripts first.
async function warm(s: ReturnType<typeof store>) {
  const lease = (await s.acquire(input(T, { key: 'warm-up' }))) as Lease;
  await lease.release(T);
}

test('unreachable at start, fail-open: the first call falls back after commandTimeoutMs, the next ones at once, with one redis:fallback', async () => {
  const client = await connectNodeRedis(await freePort(), { connect: false });
  const { bus, events } = recorder();
  const s = store(client, { bus });
  try {
    const started = performance.now();
    assert.ok((await s.acquire(input(T))).ok, 'the local limiter answers');
    assert.ok(performance.now() - started >= 90, 'bounded by commandTimeoutMs');
    const again = performance.now();
    for (let i = 0; i < 4; i++) assert.ok((await s.acquire(input(T + 10))).ok);
    assert.is((await s.acquire(input(T + 10))).ok, false, 'the local limiter holds the concurrency');
    assert.ok(performance.now() - again < 95, 'no Redis round trip (each would wait the 100 ms timeout) until retryRedisMs');
    assert.equal(events, [{ type: 'redis:fallback', payload: { store: 'rate-limit', operation: 'acquire', reason: 'timeout' } }]);
  } finally {
    client.destroy();
  }
});

test('unreachable at start, fail-closed: calls reject with RedisUnavailableError, never hang, and say redis:unavailable once', async () => {
  const client = await connectNodeRedis(await freePort(), { connect: false, disableOfflineQueue: true });
  const { bus, types } = recorder();
  const s = store(client, { bus, onError: 'fail-closed' });
  try {
    const first = await rejects(s.acquire(input(T)), isRedisUnavailableError);
    assert.is((first as { reason: string }).reason, 'error', 'without an offline queue the client fails at once');
    const second = await rejects(s.acquire(input(T + 500)), isRedisUnavailableError);
    assert.is((second as { reason: string }).reason, 'down');
    assert.equal(types(), ['redis:unavailable']);
  } finally {
    client.destroy();
  }
});

test('once the server is up, the first call after retryRedisMs goes to Redis and redis:recovered tells how long it was down', async () => {
  const port = await freePort();
  const client = await connectNodeRedis(port, { connect: false });
  const { bus, events } = recorder();
  const s = store(client, { bus, retryRedisMs: 1000 });
  const late = await startRedis({ port }).catch(async (error) => {
    client.destroy();
    throw error;
  });
  try {
    await late.kill();
    assert.ok((await s.acquire(input(T))).ok);
    await late.start();
    await ready(client);
    assert.ok((await s.acquire(input(T + 999))).ok, 'still local');
    assert.is(((await client.keys('*')) as string[]).length, 0);
    assert.ok((await s.acquire(input(T + 1000))).ok);
    assert.ok(((await client.keys('*')) as string[]).length > 0, 'counted in Redis');
    assert.equal(events.at(-1), { type: 'redis:recovered', payload: { store: 'rate-limit', downMs: 1000 } });
  } finally {
    client.destroy();
    await late.stop();
  }
});

test('a server that stops answering costs one commandTimeoutMs; the slot an unanswered acquire took is given back later', async () => {
  const sw = switchable(fromNodeRedis(a));
  const s = store(sw.client, { retryRedisMs: 1000 });
  await warm(s);
  sw.mode = 'lose';
  assert.ok((await s.acquire(input(T, { concurrency: 1 }))).ok, 'from the local limiter');
  sw.mode = 'up';
  const held = (await s.acquire(input(T + 1000, { concurrency: 1 }))) as Lease;
  assert.ok(held.ok, 'the lost acquire took a slot on the server, and was released before this one');
  assert.match(await server.command('CLIENT', 'PAUSE', '400', 'ALL'), /OK/);
  const started = performance.now();
  assert.ok((await s.acquire(input(T + 2000, { endpoint: '/v2/other' }))).ok);
  const waited = performance.now() - started;
  assert.ok(waited >= 90 && waited < 390, `waited ${waited} ms`);
  await server.command('PING');
});

test('a reply that arrived while the event loop was blocked past commandTimeoutMs still wins over the timeout', async () => {
  const { bus, events } = recorder();
  const s = store(a, { bus, onError: 'fail-closed' });
  await warm(s);
  const pending = s.acquire(input(T));
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); // node-redis writes on setImmediate
  const end = performance.now() + 150;
  while (performance.now() < end) {} // a blocked loop: the reply and the 100 ms timer are both due when it ends
  assert.ok((await pending).ok);
  assert.equal(events, []);
});

test('releases that fail in an outage are sent again once Redis answers', async () => {
  const sw = switchable(fromNodeRedis(a));
  const s = store(sw.client, { onError: 'fail-closed', retryRedisMs: 0 });
  await warm(s);
  const held = (await s.acquire(input(T, { concurrency: 1 }))) as Lease;
  sw.mode = 'down';
  await held.release(T + 10);
  sw.mode = 'up';
  assert.ok((await s.acquire(input(T + 20, { concurrency: 1 }))).ok);
});

test('a release failed in an outage is sent again after retryRedisMs with no other call, and not after close()', async () => {
  const sw = switchable(fromNodeRedis(a));
  const prefix = uniquePrefix();
  const s = store(sw.client, { onError: 'fail-closed', retryRedisMs: 20, prefix });
  const other = store(fromNodeRedis(a), { onError: 'fail-closed', prefix });
  await warm(s);
  const held = (await s.acquire(input(T, { concurrency: 1 }))) as Lease;
  sw.mode = 'down';
  await held.release(T + 10);
  sw.mode = 'up';
  // Another process waits for that slot; this one makes no call.
  assert.not.ok((await other.acquire(input(T + 20, { concurrency: 1 }))).ok);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok((await other.acquire(input(T + 30, { concurrency: 1 }))).ok, 'the release was sent on the timer');
  // After close() no timer is left: a release failed then waits for the store's next call.
  const next = (await s.acquire(input(T + 40, { key: 'closing', concurrency: 1 }))) as Lease;
  sw.mode = 'down';
  await next.release(T + 50);
  await s.close();
  sw.mode = 'up';
  await new Promise((r) => setTimeout(r, 60));
  assert.not.ok((await other.acquire(input(T + 60, { key: 'closing', concurrency: 1 }))).ok, 'no retry after close()');
  assert.ok((await s.acquire(input(T + 70, { key: 'closing', concurrency: 1 }))).ok, 'sent again first by the next call');
});

test('on the local limiter each process takes fallbackShare of every limit and of the concurrency', async () => {
  const sw = switchable(fromNodeRedis(a));
  sw.mode = 'down';
  const s = store(sw.client, { fallbackShare: 0.25 });
  let sent = 0;
  for (let i = 0; i < 20; i++) {
    const r = await s.acquire(input(T + i, { concurrency: Number.POSITIVE_INFINITY }));
    if (r.ok) {
      sent++;
      await r.release(T + i);
    }
  }
  assert.is(sent, 15, '60 per minute / 4');
  const slots = store(sw.client, { fallbackShare: 0.25 });
  assert.ok((await slots.acquire(input(T))).ok);
  assert.is((await slots.acquire(input(T))).ok, false, '5 concurrent / 4, at least 1');
});

test('fail-open token store: while Redis is down, get finds nothing, set and delete do nothing, lock runs the work alone', async () => {
  const sw = switchable(fromNodeRedis(a));
  const { bus, types } = recorder();
  const tokens = redisTokenStore({ client: sw.client, insecurePlaintext: true, bus, prefix: uniquePrefix() });
  sw.mode = 'down';
  assert.is(await tokens.get('key1'), undefined);
  await tokens.set('key1', { token: 't', issuedAt: T, expiresAt: T + 1000 });
  await tokens.delete('key1', 't');
  assert.is(await tokens.lock('key1', async () => 'worked'), 'worked');
  assert.equal(types(), ['redis:fallback']);
  const closed = redisTokenStore({ client: sw.client, insecurePlaintext: true, onError: 'fail-closed' });
  await rejects(closed.get('key1'), isRedisUnavailableError);
  await rejects(
    closed.lock('key1', async () => 'worked'),
    isRedisUnavailableError,
  );
});

test('Redis restarted mid-run: every request settles through the outage, and afterwards the count is on Redis again', async () => {
  const own = await startRedis();
  const client = await connectNodeRedis(own.port);
  const clock = createTestClock({ now: T });
  const virtual = steppingClock(clock);
  const io = createIo();
  const { bus, types } = recorder();
  const prefix = uniquePrefix();
  const s = redisRateLimitStore({
    client: io.wrap(fromNodeRedis(client)),
    prefix,
    bus,
    commandTimeoutMs: 100,
    retryRedisMs: 2000,
  });
  const transport = createFakeTransport({ clock: virtual.clock }).fallback(async () => {
    await virtual.clock.sleep(50);
    return new Response('ok');
  });
  const api = compose([rateLimit({ store: s })], { fetch: transport.fetch, clock: virtual.clock, bus });
  const statuses: number[] = [];
  const burst = (n: number) => Array.from({ length: n }, () => api('https://api.example/v2/items').then((r) => statuses.push(r.status)));
  try {
    burst(10);
    await virtual.drive(io, () => statuses.length === 10);
    await own.kill();
    burst(10);
    await virtual.drive(io, () => statuses.length === 20);
    await own.start();
    await ready(client);
    await clock.advance(2000);
    burst(10);
    await virtual.drive(io, () => statuses.length === 30);
    assert.equal(statuses, Array(30).fill(200));
    assert.equal(types(), ['redis:fallback', 'redis:recovered']);
    assert.ok(((await client.keys(`${prefix}*`)) as string[]).length > 0, 'counting on Redis again');
  } finally {
    await api.close();
    client.destroy();
    await own.stop();
  }
});

test.run();
