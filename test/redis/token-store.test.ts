// The token store: one encrypted token per key for the fleet, compare-and-delete, and a lock with an expiry on the
// caller's clock so that one process exchanges while the others wait.
import { createBus, type SluiceEvents } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { fromNodeRedis, isLockTimeoutError, redisTokenStore, tokenStoreDefaults } from '@sluice/redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { connectNodeRedis, createIo, type NodeRedisClient, steppingClock, T, uniquePrefix } from './helpers.js';
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

const encryptionKey = 'k7Qy2v9LrT4mX8pN3sW6zB1cF5hJ0dGe';
const token = { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl', issuedAt: T, expiresAt: T + 900_000 };

/** Two stores (two connections) on one virtual clock, and a driver that moves it while letting Redis I/O finish. */
function fleet(more: Partial<Parameters<typeof redisTokenStore>[0]> = {}) {
  const virtual = steppingClock(createTestClock({ now: T }));
  const io = createIo();
  const bus = createBus();
  const events: { type: string; payload: unknown }[] = [];
  bus.on('*', (type, payload) => events.push({ type, payload }));
  const prefix = uniquePrefix();
  const make = (client: NodeRedisClient) =>
    redisTokenStore({ client: io.wrap(fromNodeRedis(client)), prefix, encryptionKey, clock: virtual.clock, bus, ...more });
  return { one: make(a), two: make(b), io, prefix, events, clock: virtual.clock, drive: (done: () => boolean) => virtual.drive(io, done) };
}

test('a token one process stores is the token every process reads', async () => {
  const { one, two } = fleet();
  assert.is(await two.get('key1'), undefined);
  await one.set('key1', token);
  assert.equal(await two.get('key1'), token);
  assert.is(await two.get('key2'), undefined, 'per key id');
});

test('keeps the exchange latency that came with the token, so every process plans its next refresh alike', async () => {
  const { one, two } = fleet();
  await one.set('key1', { ...token, latencyMs: 1250 });
  assert.equal(await two.get('key1'), { ...token, latencyMs: 1250 });
});

test('stores the token encrypted: Redis holds neither the token nor its parts, and another secret cannot open it', async () => {
  const { one, prefix, events } = fleet();
  await one.set('key1', token);
  const raw = (await a.get(`${prefix}:token:{key1}`)) as string;
  assert.ok(raw.startsWith('e1.'));
  for (const part of token.token.split('.')) assert.not.ok(raw.includes(part), 'no part of the token in clear');
  assert.not.ok(raw.includes(String(token.expiresAt)));
  const bus = createBus();
  const unreadable: SluiceEvents['redis:token-unreadable'][] = [];
  bus.on('redis:token-unreadable', (e) => unreadable.push(e));
  const other = redisTokenStore({ client: a, prefix, encryptionKey: 'another-secret-of-at-least-32-chars!', bus });
  assert.is(await other.get('key1'), undefined);
  assert.equal(unreadable, [{ keyId: 'key1' }]);
  assert.is(events.length, 0);
});

test('a value copied under another key id does not open', async () => {
  const { one, prefix } = fleet();
  await one.set('key1', token);
  await a.set(`${prefix}:token:{key2}`, (await a.get(`${prefix}:token:{key1}`)) as string);
  assert.is(await one.get('key2'), undefined);
});

test('deletes the token only while it still holds it, so a newer token stays', async () => {
  const { one, two } = fleet();
  await one.set('key1', token);
  await two.delete('key1', 'some-older-token');
  assert.equal(await one.get('key1'), token);
  await two.delete('key1', token.token);
  assert.is(await one.get('key1'), undefined);
});

test('insecurePlaintext stores a usable token in clear; without it an encryptionKey of 32 or more characters is required', async () => {
  const prefix = uniquePrefix();
  const plain = redisTokenStore({ client: a, prefix, insecurePlaintext: true });
  await plain.set('key1', token);
  assert.ok(((await a.get(`${prefix}:token:{key1}`)) as string).includes(token.token));
  assert.equal(await plain.get('key1'), token);
  assert.throws(() => redisTokenStore({ client: a }), /`encryptionKey` is required/);
  assert.throws(() => redisTokenStore({ client: a, encryptionKey: 'short' }), /at least 32/);
  assert.throws(() => redisTokenStore({ client: a, encryptionKey, lockTtlMs: 0 }), /`lockTtlMs` must be/);
  assert.throws(() => redisTokenStore({ client: {} as never, encryptionKey }), /`client` must be/);
  assert.throws(() => redisTokenStore({ client: a, encryptionKey, prefix: 'a{b' }), /`prefix`/);
});

test('one holder at a time across processes: a waiter goes once the holder is done, within lockPollMs', async () => {
  const { one, two, clock, drive } = fleet();
  let finish = () => {};
  const log: string[] = [];
  const first = track(
    one.lock('key1', () => {
      log.push(`one starts at ${clock.now() - T}`);
      return new Promise<string>((resolve) => {
        finish = () => resolve('one');
      });
    }),
  );
  await drive(() => log.length === 1);
  const second = track(two.lock('key1', async () => log.push(`two starts at ${clock.now() - T}`)));
  await drive(() => clock.now() >= T + 5000);
  assert.equal(log, ['one starts at 0'], 'the waiter waits');
  // The waiter polls every lockPollMs from when its last poll came back, which the holder's renewals can shift: what
  // holds is that it goes at its first poll after the holder is done.
  const doneAt = clock.now() - T;
  finish();
  await drive(() => second.settled());
  assert.is(await first.promise, 'one');
  assert.is(log.length, 2);
  const startedAt = Number(log[1]?.replace('two starts at ', ''));
  assert.ok(startedAt >= doneAt && startedAt <= doneAt + tokenStoreDefaults.lockPollMs, `${log[1]}, the holder done at ${doneAt}`);
});

test('a holder renews its lock while its work runs, however long past lockTtlMs', async () => {
  const { one, two, clock, drive } = fleet({ lockTtlMs: 1000 });
  let finish = () => {};
  const first = track(one.lock('key1', () => new Promise<void>((resolve) => (finish = resolve))));
  await drive(() => clock.now() >= T + 10);
  const second = track(two.lock('key1', async () => clock.now() - T));
  await drive(() => clock.now() >= T + 20_000);
  assert.not.ok(second.settled());
  finish();
  await drive(() => second.settled() && first.settled());
  assert.ok((second.value() as number) >= 20_000);
});

test('the lock of a process that died expires lockTtlMs after its last renewal, on the caller clock', async () => {
  const { one, prefix, clock, drive } = fleet({ lockTtlMs: 3000 });
  await a.set(`${prefix}:token:{key1}:lock`, `dead-owner|${T + 3000}`);
  const waiter = track(one.lock('key1', async () => clock.now() - T));
  await drive(() => waiter.settled());
  assert.ok((waiter.value() as number) >= 3000 && (waiter.value() as number) <= 3050, String(waiter.value()));
});

test('after lockWaitMs a waiter fails closed with LockTimeoutError, or fails open, works anyway and says so', async () => {
  const closed = fleet({ lockWaitMs: 2000, onError: 'fail-closed' });
  await a.set(`${closed.prefix}:token:{key1}:lock`, `other|${T + 60_000}`);
  const failing = track(closed.one.lock('key1', async () => 'ran'));
  await closed.drive(() => failing.settled());
  await rejects(failing.promise, isLockTimeoutError);
  assert.is(closed.clock.now(), T + 2000);
  const open = fleet({ lockWaitMs: 2000 });
  await a.set(`${open.prefix}:token:{key1}:lock`, `other|${T + 60_000}`);
  const running = track(open.one.lock('key1', async () => 'ran'));
  await open.drive(() => running.settled());
  assert.is(running.value(), 'ran');
  assert.equal(open.events, [{ type: 'redis:fallback', payload: { store: 'token', operation: 'lock', reason: 'lock-timeout' } }]);
});

test('close() ends the waits for a lock with ClosedError and resolves once the locks it holds are released', async () => {
  const { one, two, prefix, drive } = fleet();
  let finish = () => {};
  const holding = track(one.lock('key1', () => new Promise<string>((resolve) => (finish = () => resolve('held')))));
  await drive(() => true);
  const waiting = track(two.lock('key1', async () => 'ran'));
  await drive(() => true);
  await two.close();
  await rejects(waiting.promise, (e) => (e as Error).name === 'ClosedError');
  const closed = track(one.close());
  await drive(() => true);
  assert.not.ok(closed.settled(), 'waits for the work under the lock');
  finish();
  await drive(() => closed.settled());
  assert.is(holding.value(), 'held');
  assert.is(await a.get(`${prefix}:token:{key1}:lock`), null, 'released in Redis');
});

test.run();
