import { authToken } from '@sluice/auth-token';
import { compose, createBus, type EventName } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { monitor, monitorDefaults } from '@sluice/monitor';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, keyFromHeader, keyRow, setup, status } from './helpers.js';

test('keeps at most maxKeys keys, dropping the least recently used', async () => {
  const { transport, mon, get } = setup({ maxKeys: 3 });
  transport.fallback(status(200));
  for (const key of ['a', 'b', 'c', 'a', 'd', 'e']) await get('/v2/x', key);
  const s = mon.snapshot();
  assert.equal(
    s.keys.map((k) => k.keyId),
    ['a', 'd', 'e'],
  );
  assert.equal(s.evicted, { keys: 2, endpoints: 0 });
});

test("keeps at most maxEndpoints endpoints per key, while the key's totals go on counting", async () => {
  const { transport, mon, get } = setup({ maxEndpoints: 2 });
  transport.fallback(status(200));
  for (const path of ['/a', '/b', '/a', '/c', '/d']) await get(path);
  const k = keyRow(mon, 'k1');
  assert.equal(
    k.endpoints.map((e) => e.endpoint),
    ['/c', '/d'],
  );
  assert.is(k.requests, 5);
  assert.is(mon.snapshot().evicted.endpoints, 2);
});

test('with the defaults, 3,000 keys leave 1,000 rows', async () => {
  const { transport, mon, fetch } = setup();
  transport.fallback(status(200));
  for (let i = 0; i < 3_000; i++) await fetch(`${API}/items/${i}`, { headers: { 'x-test-key': `key-${i}` } });
  const s = mon.snapshot();
  assert.is(s.keys.length, monitorDefaults.maxKeys);
  assert.is(s.evicted.keys, 2_000);
  assert.is(s.keys.at(-1)?.keyId, 'key-2999');
});

test('an endpoint option names the rows', async () => {
  const { transport, mon, get } = setup({ endpoint: (request) => new URL(request.url).pathname.replace(/\/\d+$/, '/{id}') });
  transport.fallback(status(200));
  await get('/items/1');
  await get('/items/2');
  assert.equal(
    keyRow(mon, 'k1').endpoints.map((e) => [e.endpoint, e.requests]),
    [['/items/{id}', 2]],
  );
});

test('options are validated when monitor() is called', () => {
  for (const [options, message] of [
    [{ limit: 0 }, '`limit` must be a positive number, got 0'],
    [{ windowMs: -1 }, '`windowMs` must be a positive number, got -1'],
    [{ maxKeys: 1.5 }, '`maxKeys` must be a positive integer, got 1.5'],
    [{ maxEndpoints: Number.NaN }, '`maxEndpoints` must be a positive integer, got NaN'],
    [{ usageThreshold: 1.2 }, '`usageThreshold` must be a positive number up to 1, got 1.2'],
  ] as const) {
    assert.throws(
      () => monitor(options),
      (e: Error) => e instanceof RangeError && e.message === message,
    );
  }
  assert.throws(() => monitor({ endpoint: 'path' as never }), TypeError);
  assert.ok(monitor({ limit: undefined }), 'undefined means the default');
});

test("close() takes the monitor's listeners off a shared bus", async () => {
  const bus = createBus();
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(status(200));
  const types: EventName[] = ['auth:token-requested', 'auth:token-acquired', 'auth:key-expiring', 'rate-limit:acquired'];
  const api = compose([keyFromHeader, monitor()], { fetch: transport.fetch, clock, bus });
  assert.ok(types.every((t) => bus.listens(t)));
  await api.close();
  assert.ok(types.every((t) => !bus.listens(t)));
});

test('one monitor in two pipelines counts both', async () => {
  const mon = monitor();
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(status(200));
  const one = compose([keyFromHeader, rateLimit(), mon], { fetch: transport.fetch, clock });
  const two = compose([authToken({ apiKey: 'sk_test_two_0123456789', baseUrl: API }), mon], {
    fetch: async (request) =>
      new URL(request.url).pathname.endsWith('/token/access')
        ? Response.json({ access_token: 't', expires_in: 900 })
        : transport.fetch(request),
    clock,
  });
  await one(`${API}/a`, { headers: { 'x-test-key': 'k1' } });
  await two(`${API}/a`);
  const s = mon.snapshot();
  assert.is(s.keys.length, 2);
  assert.equal(
    s.keys.map((k) => k.requests),
    [1, 2],
  );
  assert.is(s.keys[1]?.tokenExchanges, 1);
  await Promise.all([one.close(), two.close()]);
});

test.run();
