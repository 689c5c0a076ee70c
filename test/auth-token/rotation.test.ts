import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { API, bearer, harness, KEY, KEY_ID, KEY2, KEY2_ID } from './helpers.js';

const SECOND = 1000;
const DAY = 86_400_000;

test('rotate() switches to the new key without failing or delaying requests in flight', async () => {
  const h = harness({ tokenDelayMs: 2 * SECOND });
  h.api.keys.add(KEY2);
  const first = h.fetch(`${API}/v2/warm`);
  await h.clock.advance(2 * SECOND);
  await first;
  let release!: (r: Response) => void;
  h.api.intercept = (call) => (call.url.endsWith('/slow') ? new Promise<Response>((resolve) => (release = resolve)) : undefined);
  const inFlight = h.fetch(`${API}/v2/slow`);
  await h.clock.flush();
  h.auth.rotate(KEY2);
  const during = track(h.fetch(`${API}/v2/during`));
  await h.clock.flush();
  assert.ok(during.settled(), 'a request during the rotation is not delayed');
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-1');
  await h.clock.advance(2 * SECOND);
  release(json({ ok: true }));
  assert.is((await inFlight).status, 200);
  await h.fetch(`${API}/v2/after`);
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-2');
  assert.equal(JSON.parse(h.exchangeCalls()[1]?.text ?? ''), { api_key: KEY2 });
  assert.equal(
    h.of('auth:token-acquired').map((e) => [e.reason, e.keyId]),
    [
      ['initial', KEY_ID],
      ['rotate', KEY2_ID],
    ],
  );
});

test('a failed rotation is reported and keeps the old key in use', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.auth.rotate(KEY2);
  assert.is((await h.fetch(`${API}/v2/a`)).status, 200);
  await h.clock.flush();
  const [failed] = h.of('auth:token-failed');
  assert.equal([failed?.reason, failed?.code, failed?.keyId], ['rotate', 'ERR_SLUICE_INVALID_API_KEY', KEY2_ID]);
  await h.clock.advance(720 * SECOND);
  await h.fetch(`${API}/v2/b`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 3);
  assert.equal(JSON.parse(h.exchangeCalls().at(-1)?.text ?? ''), { api_key: KEY });
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'refresh-ahead');
});

test('rotate() on a cold start makes the first request wait for the new key', async () => {
  const h = harness({ apiKey: 'sk_old_never_used' });
  h.api.keys.add(KEY2);
  h.auth.rotate(KEY2);
  assert.is((await h.fetch(`${API}/v2/a`)).status, 200);
  assert.is(h.api.exchanges, 1);
  assert.equal(JSON.parse(h.exchangeCalls()[0]?.text ?? ''), { api_key: KEY2 });
  assert.is(h.of('auth:token-acquired')[0]?.reason, 'rotate');
});

test('rotate() without a key reads the provider again now; the last rotate() wins', async () => {
  let key = KEY;
  const h = harness({ apiKey: () => key });
  h.api.keys.add(KEY2);
  await h.fetch(`${API}/v2/warm`);
  key = KEY2;
  h.auth.rotate('sk_never_sent');
  h.auth.rotate();
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-acquired').at(-1)?.keyId, KEY2_ID);
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'rotate');
});

test('a rotation asked for during an exchange starts after it', async () => {
  const h = harness({ tokenDelayMs: SECOND });
  h.api.keys.add(KEY2);
  const first = h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  h.auth.rotate(KEY2);
  await h.clock.advance(SECOND);
  await first;
  await h.fetch(`${API}/v2/b`);
  await h.clock.advance(SECOND);
  assert.equal(
    h.of('auth:token-acquired').map((e) => [e.reason, e.keyId]),
    [
      ['initial', KEY_ID],
      ['rotate', KEY2_ID],
    ],
  );
});

test('rotate() checks the new key like the apiKey option', () => {
  const h = harness();
  assert.throws(() => h.auth.rotate(''), /`apiKey` must be a non-empty string/);
  assert.throws(() => h.auth.rotate(KEY2, 'soon'), /`apiKeyExpiresAt` must be a date/);
});

test('a provider returning a new secret is picked up at the next refresh, with the new keyId', async () => {
  let key = KEY;
  const h = harness({ apiKey: async () => key });
  h.api.keys.add(KEY2);
  await h.fetch(`${API}/v2/warm`);
  key = KEY2;
  await h.clock.advance(720 * SECOND);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  const last = h.of('auth:token-acquired').at(-1);
  assert.equal([last?.reason, last?.keyId], ['refresh-ahead', KEY2_ID]);
});

test('invalidate() drops the token; the next request exchanges again', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.auth.invalidate();
  await h.fetch(`${API}/v2/a`);
  assert.is(h.api.exchanges, 2);
  assert.equal(h.of('auth:token-invalidated'), [{ keyId: KEY_ID, reason: 'manual', method: undefined, url: undefined }]);
});

test('apiKeyExpiresAt emits auth:key-expiring once per threshold as expiry nears', async () => {
  const expiresAt = Date.UTC(2026, 0, 1) + 40 * DAY;
  const h = harness({ lifetimeS: 86_400, apiKeyExpiresAt: new Date(expiresAt) });
  const crossed: number[] = [];
  h.fetch.events.on('auth:key-expiring', (e) => crossed.push(e.thresholdMs / DAY));
  for (let day = 0; day < 41; day++) {
    await h.fetch(`${API}/v2/daily`);
    await h.clock.advance(DAY);
  }
  assert.equal(crossed, [30, 7, 1]);
  const [first] = h.of('auth:key-expiring');
  assert.equal(first, { keyId: KEY_ID, expiresAt, remainingMs: 30 * DAY, thresholdMs: 30 * DAY });
});

test('a key already inside several thresholds warns once, for the nearest', async () => {
  const clockStart = Date.UTC(2026, 0, 1);
  const h = harness({ apiKeyExpiresAt: clockStart + 3 * DAY, keyExpiryWarningsMs: [DAY, 30 * DAY, 7 * DAY] });
  await h.fetch(`${API}/v2/a`);
  assert.equal(
    h.of('auth:key-expiring').map((e) => e.thresholdMs / DAY),
    [7],
  );
});

test('rotating to a key with a later expiry starts the warnings over', async () => {
  const start = Date.UTC(2026, 0, 1);
  const h = harness({ apiKeyExpiresAt: start + 3 * DAY });
  h.api.keys.add(KEY2);
  await h.fetch(`${API}/v2/a`);
  h.auth.rotate(KEY2, new Date(start + 365 * DAY).toISOString());
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.of('auth:key-expiring').length, 1);
  await h.clock.advanceTo(start + 358 * DAY);
  await h.fetch(`${API}/v2/a`);
  const last = h.of('auth:key-expiring').at(-1);
  assert.equal([last?.keyId, last?.thresholdMs], [KEY2_ID, 7 * DAY]);
});

test.run();
