import { authToken, keyFingerprint } from '@sluice/auth-token';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, keyRow, setup, status } from './helpers.js';

const KEY = 'sk_live_MONITOR_expiring_0123456789';
const KEY_ID = await keyFingerprint(KEY);

test('the share counts the requests of the last window, on the virtual clock', async () => {
  const { transport, mon, get, clock } = setup({ limit: 10 });
  transport.fallback(status(200));
  for (let i = 0; i < 4; i++) await get('/v2/a');
  assert.equal(keyRow(mon, 'k1').usage, { used: 4, limit: 10, windowMs: 60_000, share: 0.4 });
  await clock.advance(30_000);
  await get('/v2/a');
  await get('/v2/b');
  assert.is(keyRow(mon, 'k1').usage.used, 6);
  await clock.advance(31_000);
  assert.is(keyRow(mon, 'k1').usage.used, 2, 'the first four left the window');
  await clock.advance(3_600_000);
  assert.is(keyRow(mon, 'k1').usage.used, 0);
  assert.is(clock.pending, 0, 'no timer: the window moves only when read');
});

test('a 429 is not counted in the share: the server did not count it', async () => {
  const { transport, mon, get } = setup({ limit: 10 });
  transport.queue(status(200), status(429), status(429));
  for (let i = 0; i < 3; i++) await get('/v2/a');
  assert.is(keyRow(mon, 'k1').usage.used, 1);
});

test("the server's remaining raises the share when it says more is used, until its reset", async () => {
  const { transport, mon, get, clock } = setup({ limit: 10 });
  const reset = String(Math.ceil(clock.now() / 1000) + 20);
  transport.queue(status(200, { 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': reset }));
  await get('/v2/a');
  assert.is(keyRow(mon, 'k1').usage.share, 0.8, 'another process used the key');
  await clock.advance(21_000);
  assert.is(keyRow(mon, 'k1').usage.share, 0.1, 'past the reset, the own count');
});

test('X-RateLimit-Limit replaces the configured limit', async () => {
  const { transport, mon, get } = setup({ limit: 10 });
  transport.queue(status(200, { 'x-ratelimit-limit': '100' }));
  await get('/v2/a');
  assert.equal(keyRow(mon, 'k1').usage, { used: 1, limit: 100, windowMs: 60_000, share: 0.01 });
});

test('monitor:usage-high fires on crossing the threshold, then again only after the share fell below it', async () => {
  const { transport, of, get, clock } = setup({ limit: 5, usageThreshold: 0.6 });
  transport.fallback(status(200));
  for (let i = 0; i < 5; i++) await get('/v2/a');
  assert.equal(of('monitor:usage-high'), [{ keyId: 'k1', share: 0.6, used: 3, limit: 5, windowMs: 60_000 }]);
  await clock.advance(61_000);
  await get('/v2/a');
  for (let i = 0; i < 2; i++) await get('/v2/a');
  assert.is(of('monitor:usage-high').length, 2);
});

test('monitor:rate-limited fires on the first 429 of a key, then not again until a window passes without one', async () => {
  const { transport, of, get, clock } = setup();
  transport.fallback(status(429, { 'retry-after': '3' }));
  await get('/v2/a');
  await get('/v2/b');
  await get('/v2/a', 'k2');
  await clock.advance(59_000);
  await get('/v2/a');
  await clock.advance(60_000);
  await get('/v2/c');
  assert.equal(
    of('monitor:rate-limited').map((e) => [e.keyId, e.endpoint, e.method, e.url, e.retryAfterMs]),
    [
      ['k1', '/v2/a', 'GET', `${API}/v2/a`, 3000],
      ['k2', '/v2/a', 'GET', `${API}/v2/a`, 3000],
      ['k1', '/v2/c', 'GET', `${API}/v2/c`, 3000],
    ],
  );
});

test("monitor:key-expiring passes auth-token's warning on, and the snapshot keeps the expiry", async () => {
  const { clock } = setup();
  const expiresAt = clock.now() + 3 * 86_400_000;
  const s = setup({}, [authToken({ apiKey: KEY, baseUrl: API, apiKeyExpiresAt: expiresAt })]);
  s.transport.fallback((call) =>
    new URL(call.url).pathname === '/v2/auth/token/access' ? json({ access_token: 'tok', expires_in: 900 }) : status(200)(),
  );
  await s.fetch(`${API}/v2/a`);
  assert.equal(s.of('monitor:key-expiring'), [{ keyId: KEY_ID, expiresAt, remainingMs: 3 * 86_400_000, thresholdMs: 7 * 86_400_000 }]);
  assert.is(keyRow(s.mon, KEY_ID).keyExpiresAt, expiresAt);
});

test.run();
