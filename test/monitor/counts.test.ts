import { authToken, keyFingerprint } from '@sluice/auth-token';
import { json } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { API, endpointRow, keyFromHeader, keyRow, setup, status } from './helpers.js';

const KEY = 'sk_live_MONITOR_0123456789abcdef';
const KEY_ID = await keyFingerprint(KEY);
const TOKEN_PATH = '/v2/auth/token/access';

test('counts requests and answers by status class, per key and per endpoint', async () => {
  const { transport, mon, get } = setup();
  transport.queue(status(200), status(204), status(302), status(404), status(503), new TypeError('fetch failed'));
  for (const path of ['/v2/a', '/v2/a', '/v2/b', '/v2/b', '/v2/b']) await get(path);
  await rejects(get('/v2/c'), TypeError);

  const k = keyRow(mon, 'k1');
  assert.is(k.requests, 6);
  assert.equal(k.responses, { '1xx': 0, '2xx': 2, '3xx': 1, '4xx': 1, '5xx': 1 });
  assert.is(k.errors, 1);
  assert.equal(
    k.endpoints.map((e) => [e.endpoint, e.requests]),
    [
      ['/v2/a', 2],
      ['/v2/b', 3],
      ['/v2/c', 1],
    ],
  );
  assert.equal(endpointRow(mon, 'k1', '/v2/b').responses, { '1xx': 0, '2xx': 0, '3xx': 1, '4xx': 1, '5xx': 1 });
});

test('keeps keys apart, and counts requests without a key under their origin', async () => {
  const { transport, mon, get, fetch } = setup();
  transport.fallback(status(200));
  await get('/v2/a', 'k1');
  await get('/v2/a', 'k2');
  await get('/v2/a', 'k2');
  await fetch('https://other.example/x');
  assert.equal(
    mon.snapshot().keys.map((k) => [k.keyId, k.requests]),
    [
      ['k1', 1],
      ['k2', 2],
      ['https://other.example', 1],
    ],
  );
});

test('counts a 429 as rate limited and keeps the last rate-limit headers of the key', async () => {
  const { transport, mon, get, clock } = setup();
  const reset = Math.ceil(clock.now() / 1000) + 30;
  transport.queue(
    status(200, { 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': String(reset) }),
    status(429, { 'retry-after': '7', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }),
  );
  await get('/v2/a');
  await clock.advance(1000);
  await get('/v2/b');
  const k = keyRow(mon, 'k1');
  assert.is(k.rateLimited, 1);
  assert.is(endpointRow(mon, 'k1', '/v2/b').rateLimited, 1);
  assert.equal(k.rateLimit, { remaining: 0, resetAt: reset * 1000, limit: undefined, seenAt: clock.now() });
});

test("counts a 403 that says it refused for the rate (GitHub's) as rate limited; a 403 for permissions is not", async () => {
  const { transport, mon, get } = setup();
  transport.queue(status(403, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0' }), status(403));
  await get('/v2/a');
  await get('/v2/a');
  assert.is(keyRow(mon, 'k1').rateLimited, 1);
  assert.is(keyRow(mon, 'k1').responses['4xx'], 2);
});

test("counts retry-429's retries as retries of the endpoint", async () => {
  const { transport, mon, get, clock } = setup({}, [retry429({ random: () => 0.5 }), keyFromHeader]);
  transport.queue(status(429, { 'retry-after': '1' }), status(503), status(200));
  const done = get('/v2/a');
  await clock.advance(10_000);
  assert.is((await done).status, 200);
  const e = endpointRow(mon, 'k1', '/v2/a');
  assert.equal([e.requests, e.retries, e.rateLimited, e.responses['5xx'], e.responses['2xx']], [3, 2, 1, 1, 1]);
});

function tokenApi(answers: number[] = []) {
  let n = 0;
  return (call: { url: string; headers: Headers }) => {
    if (new URL(call.url).pathname === TOKEN_PATH) return json({ access_token: `tok-${++n}`, expires_in: 900 });
    const code = answers.shift() ?? 200;
    return new Response(null, { status: code });
  };
}

test("counts token exchanges on the token endpoint under the key's fingerprint, with the token's age", async () => {
  const { transport, mon, fetch, clock } = setup({}, [authToken({ apiKey: KEY, baseUrl: API })]);
  transport.fallback(tokenApi());
  await fetch(`${API}/v2/a`);
  await clock.advance(5_000);
  await fetch(`${API}/v2/a`);
  const k = keyRow(mon, KEY_ID);
  assert.is(k.tokenExchanges, 1);
  assert.is(k.requests, 3);
  assert.equal(
    k.endpoints.map((e) => [e.endpoint, e.requests, e.tokenExchanges, e.retries]),
    [
      [TOKEN_PATH, 1, 1, 0],
      ['/v2/a', 2, 0, 0],
    ],
  );
  assert.is(k.token?.ageMs, 5_000);
  assert.is(k.token?.expiresAt, k.token!.acquiredAt + 900_000);
  assert.not.ok(JSON.stringify(mon.snapshot()).includes(KEY), 'the key itself is nowhere');
});

test("counts auth-token's replay after a 401 as a retry, and the second exchange", async () => {
  const { transport, mon, fetch } = setup({}, [authToken({ apiKey: KEY, baseUrl: API })]);
  transport.fallback(tokenApi([401, 200]));
  assert.is((await fetch(`${API}/v2/a`)).status, 200);
  const k = keyRow(mon, KEY_ID);
  assert.equal([k.requests, k.retries, k.tokenExchanges, k.responses['4xx']], [4, 1, 2, 1]);
  assert.is(endpointRow(mon, KEY_ID, '/v2/a').retries, 1);
});

test("counts queue waits from rate-limit's events on the request's row", async () => {
  const { transport, mon, get, clock } = setup({}, [keyFromHeader, rateLimit({ rules: [{ limit: 1, windowMs: 1000 }] })]);
  transport.fallback(status(200));
  const first = get('/v2/a');
  const second = get('/v2/a');
  await clock.advance(5_000);
  await Promise.all([first, second]);
  const e = endpointRow(mon, 'k1', '/v2/a');
  assert.is(e.queueWaits, 1);
  assert.ok(e.queueWaitMs >= 1000 && e.queueWaitMs <= 1100, `waited ${e.queueWaitMs} ms`);
  assert.is(keyRow(mon, 'k1').queueWaitMs, e.queueWaitMs);
});

test('hands each settled request to subscribers, and a throwing subscriber fails nothing', async () => {
  const { transport, mon, get, clock } = setup();
  transport.queue(async () => {
    await clock.sleep(250);
    return new Response(null, { status: 201 });
  });
  const seen: unknown[] = [];
  mon.subscribe(() => {
    throw new Error('exporter bug');
  });
  const off = mon.subscribe((r) => seen.push(r));
  const done = get('/v2/a');
  await clock.advance(250);
  assert.is((await done).status, 201);
  assert.equal(seen, [
    {
      type: 'response',
      keyId: 'k1',
      endpoint: '/v2/a',
      method: 'GET',
      status: 201,
      rateLimited: false,
      durationMs: 250,
      retry: false,
      tokenExchange: false,
    },
  ]);
  off();
  transport.queue(status(200));
  await get('/v2/a');
  assert.is(seen.length, 1);
});

test('a snapshot is plain data that later requests do not change', async () => {
  const { transport, mon, get } = setup();
  transport.fallback(status(200));
  await get('/v2/a');
  const before = mon.snapshot();
  assert.equal(structuredClone(before), before);
  await get('/v2/a');
  assert.is(before.keys[0]?.requests, 1);
  assert.is(before.keys[0]?.endpoints[0]?.responses['2xx'], 1);
  assert.is(mon.snapshot().keys[0]?.requests, 2);
});

test.run();
