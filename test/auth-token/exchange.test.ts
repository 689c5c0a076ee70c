import { InvalidApiKeyError, TokenExchangeError, TokenResponseError } from '@sluice/auth-token';
import { ClosedError, hasCode } from '@sluice/core';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { API, harness, jwt, KEY, KEY_ID, KEY2, KEY2_ID } from './helpers.js';

const SECOND = 1000;

const malformed: Array<[string, () => Response, RegExp]> = [
  ['a body that is not JSON', () => new Response('<html>gateway</html>', { status: 200 }), /not JSON/],
  ['JSON that is not an object', () => json(null), /no access_token/],
  ['no access_token', () => json({ expires_in: 900 }), /no access_token/],
  ['an empty access_token', () => json({ access_token: '', expires_in: 900 }), /no access_token/],
  ['an access_token that is not a string', () => json({ access_token: 42, expires_in: 900 }), /no access_token/],
  ['an access_token with a line break', () => json({ access_token: 'abc\r\nx-evil: 1', expires_in: 900 }), /no access_token/],
  ['expires_in of zero', () => json({ access_token: 't', expires_in: 0 }), /expires_in not a positive number/],
  ['a negative expires_in', () => json({ access_token: 't', expires_in: -5 }), /expires_in not a positive number/],
  ['expires_in as a string', () => json({ access_token: 't', expires_in: '900' }), /expires_in not a positive number/],
  ['expires_in null', () => json({ access_token: 't', expires_in: null }), /expires_in not a positive number/],
  ['an absurd expires_in', () => json({ access_token: 't', expires_in: 1e308 }), /expires_in not a positive number/],
  ['no expires_in and an opaque token', () => json({ access_token: 'opaque' }), /no expires_in nor JWT exp/],
  ['no expires_in and a JWT without exp', () => json({ access_token: jwt({ sub: 'x' }) }), /no expires_in nor JWT exp/],
  ['no expires_in and a JWT that already expired', () => json({ access_token: jwt({ exp: 1 }) }), /JWT exp in the past/],
];

for (const [what, reply, message] of malformed) {
  test(`rejects a token answer with ${what} with TokenResponseError, and tries again on the next request`, async () => {
    const h = harness();
    h.api.scriptToken(reply());
    const error = await rejects(h.fetch(`${API}/v2/items`), TokenResponseError);
    assert.match((error as Error).message, message);
    assert.ok(hasCode(error, 'ERR_SLUICE_TOKEN_RESPONSE'));
    assert.is(h.api.exchanges, 1);
    assert.is((await h.fetch(`${API}/v2/items`)).status, 200);
  });
}

test("uses a JWT's exp when expires_in is missing", async () => {
  const h = harness();
  const exp = Math.floor(h.clock.now() / 1000) + 600;
  const token = jwt({ sub: 'svc', exp });
  h.api.scriptToken(json({ access_token: token }));
  h.api.intercept = (call) => (call.headers.get('authorization') === `Bearer ${token}` ? json({ ok: true }) : undefined);
  assert.is((await h.fetch(`${API}/v2/items`)).status, 200);
  assert.is(h.of('auth:token-acquired')[0]?.expiresAt, exp * 1000);
});

test('401 from the token endpoint rejects with InvalidApiKeyError after re-reading the provider once', async () => {
  let reads = 0;
  const h = harness({
    apiKey: () => {
      reads++;
      return 'sk_revoked';
    },
  });
  const error = await rejects(h.fetch(`${API}/v2/items`), InvalidApiKeyError);
  assert.ok(hasCode(error, 'ERR_SLUICE_INVALID_API_KEY'));
  assert.is((error as InvalidApiKeyError).status, 401);
  assert.is(reads, 2);
  assert.is(h.api.exchanges, 1);
});

test('403 from the token endpoint is an invalid key too, never retried with the same key', async () => {
  const h = harness();
  h.api.scriptToken(json({ error: 'forbidden' }, { status: 403 }));
  const error = await rejects(h.fetch(`${API}/v2/items`), InvalidApiKeyError);
  assert.is((error as InvalidApiKeyError).status, 403);
  assert.is(h.api.exchanges, 1);
});

test('a provider that has a rotated key by the time of a 401 gets one more exchange with it', async () => {
  const keys = [KEY, KEY2];
  const h = harness({ apiKey: async () => keys[0] as string });
  h.api.keys = new Set([KEY2]);
  h.api.scriptToken(() => {
    keys.shift();
    return json({ error: 'revoked' }, { status: 401 });
  });
  assert.is((await h.fetch(`${API}/v2/items`)).status, 200);
  assert.is(h.api.exchanges, 2);
  assert.equal(
    h.of('auth:token-requested').map((e) => e.keyId),
    [KEY_ID, KEY2_ID],
  );
  assert.is(h.of('auth:token-acquired')[0]?.keyId, KEY2_ID);
});

test('a provider that throws rejects with TokenExchangeError, and the next request reads it again', async () => {
  let calls = 0;
  const h = harness({
    apiKey: () => {
      calls++;
      if (calls === 1) throw new Error('secret manager unavailable');
      return KEY;
    },
  });
  const error = await rejects(h.fetch(`${API}/v2/items`), TokenExchangeError);
  assert.match((error as Error).message, /API key provider threw/);
  assert.is(((error as Error).cause as Error).message, 'secret manager unavailable');
  assert.is(h.api.exchanges, 0);
  assert.is((await h.fetch(`${API}/v2/items`)).status, 200);
});

test('a provider that returns nothing rejects with InvalidApiKeyError without an exchange', async () => {
  const h = harness({ apiKey: async () => '  ' });
  await rejects(h.fetch(`${API}/v2/items`), InvalidApiKeyError);
  assert.is(h.api.exchanges, 0);
});

test('reads the provider again at each exchange and trims what it returns', async () => {
  let reads = 0;
  const h = harness({
    apiKey: async () => {
      reads++;
      return `${KEY}\n`;
    },
  });
  await h.fetch(`${API}/v2/a`);
  await h.clock.advance(720 * SECOND);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(reads, 2);
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'refresh-ahead');
});

test('429 from the token endpoint waits as Retry-After says, then tries again', async () => {
  const h = harness();
  h.api.scriptToken(json({ error: 'slow down' }, { status: 429, headers: { 'retry-after': '7' } }));
  const response = track(h.fetch(`${API}/v2/items`));
  await h.clock.advance(7 * SECOND - 1);
  assert.not.ok(response.settled());
  assert.is(h.api.exchanges, 1);
  await h.clock.advance(1);
  assert.is((await response.promise).status, 200);
  assert.is(h.api.exchanges, 2);
  assert.equal(h.of('rate-limit:exceeded'), [{ keyId: KEY_ID, retryAfterMs: 7000, method: 'POST', url: `${API}/v2/auth/token/access` }]);
  assert.equal(h.of('auth:token-failed')[0], {
    keyId: KEY_ID,
    reason: 'initial',
    attempt: 1,
    code: 'ERR_SLUICE_TOKEN_EXCHANGE',
    status: 429,
    delayMs: 7000,
  });
});

test('5xx answers get backed-off retries (1 s, 2 s, 4 s), then TokenExchangeError', async () => {
  const h = harness();
  h.api.scriptToken(...Array.from({ length: 4 }, () => json({ error: 'down' }, { status: 503 })));
  const response = track(h.fetch(`${API}/v2/items`));
  await h.clock.advance(7 * SECOND);
  const error = await rejects(response.promise, TokenExchangeError);
  assert.is((error as TokenExchangeError).status, 503);
  assert.match((error as Error).message, /token exchange failed \(503\)/);
  assert.equal(
    h.exchangeCalls().map((c) => c.at - h.exchangeCalls()[0]!.at),
    [0, 1000, 3000, 7000],
  );
  assert.is(h.of('auth:token-failed').at(-1)?.delayMs, undefined);
});

test('network errors are retried, and a success after them is used', async () => {
  const h = harness();
  h.api.scriptToken(new TypeError('fetch failed'), new TypeError('fetch failed'));
  const response = track(h.fetch(`${API}/v2/items`));
  await h.clock.advance(3 * SECOND);
  assert.is((await response.promise).status, 200);
  assert.is(h.api.exchanges, 3);
});

test('a token answer whose body breaks off is retried like a network error', async () => {
  const h = harness();
  const broken = new ReadableStream({
    pull(controller) {
      controller.error(new TypeError('terminated'));
    },
  });
  h.api.scriptToken(new Response(broken, { status: 200 }));
  const response = track(h.fetch(`${API}/v2/items`));
  await h.clock.advance(SECOND);
  assert.is((await response.promise).status, 200);
  assert.is(h.api.exchanges, 2);
});

test('other statuses (4xx, redirects) reject at once without retries', async () => {
  const h = harness();
  h.api.scriptToken(new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/token' } }));
  const error = await rejects(h.fetch(`${API}/v2/items`), TokenExchangeError);
  assert.is((error as TokenExchangeError).status, 302);
  assert.is(h.api.exchanges, 1);
  assert.is(h.exchangeCalls()[0]?.request.redirect, 'manual');
});

test('aborting one waiter during an exchange rejects it at once; the others and the exchange go on', async () => {
  const h = harness({ tokenDelayMs: 5 * SECOND });
  const controller = new AbortController();
  const reason = new Error('user navigated away');
  const aborted = track(h.fetch(`${API}/v2/a`, { signal: controller.signal }));
  const other = track(h.fetch(`${API}/v2/b`));
  await h.clock.advance(SECOND);
  controller.abort(reason);
  await h.clock.flush();
  assert.ok(aborted.settled());
  assert.is(aborted.error(), reason);
  assert.not.ok(other.settled());
  await h.clock.advance(4 * SECOND);
  assert.is((await other.promise).status, 200);
  assert.is(h.api.exchanges, 1);
});

test('aborting the only waiter still lets the exchange finish for the next request', async () => {
  const h = harness({ tokenDelayMs: 5 * SECOND });
  const controller = new AbortController();
  const aborted = track(h.fetch(`${API}/v2/a`, { signal: controller.signal }));
  await h.clock.advance(SECOND);
  controller.abort();
  await h.clock.advance(4 * SECOND);
  assert.ok(aborted.settled());
  assert.is((await h.fetch(`${API}/v2/b`)).status, 200);
  assert.is(h.api.exchanges, 1);
});

test('an abort during a backoff wait rejects that caller only', async () => {
  const h = harness();
  h.api.scriptToken(json({}, { status: 500 }));
  const controller = new AbortController();
  const aborted = track(h.fetch(`${API}/v2/a`, { signal: controller.signal }));
  const other = track(h.fetch(`${API}/v2/b`));
  await h.clock.advance(500);
  controller.abort(new Error('stop'));
  await h.clock.flush();
  assert.is((aborted.error() as Error).message, 'stop');
  await h.clock.advance(500);
  assert.is((await other.promise).status, 200);
});

test('close() during an exchange rejects the waiters with ClosedError and leaves no timer', async () => {
  const h = harness();
  h.api.scriptToken(json({}, { status: 500 }));
  const waiting = track(h.fetch(`${API}/v2/a`));
  await h.clock.flush();
  assert.is(h.clock.pending, 1);
  await h.fetch.close();
  await h.clock.flush();
  assert.ok(waiting.error() instanceof ClosedError);
  assert.is(h.clock.pending, 0);
  assert.is(h.api.exchanges, 1);
});

test('the exchange body, URL, fields, header and scheme are configurable', async () => {
  const h = harness({
    tokenUrl: 'https://auth.example/oauth/token',
    origins: [API],
    tokenRequest: (apiKey) => ({ method: 'POST', headers: { 'x-api-key': apiKey } }),
    tokenField: 'token',
    expiresInField: 'ttl',
    header: 'x-auth',
    scheme: '',
  });
  h.transport.queue(json({ token: 'custom-1', ttl: 300 }));
  h.api.intercept = (call) => json({ auth: call.headers.get('x-auth') });
  const response = await h.fetch(`${API}/v2/items`);
  assert.equal(await response.json(), { auth: 'custom-1' });
  const [exchange] = h.transport.calls;
  assert.is(exchange?.url, 'https://auth.example/oauth/token');
  assert.is(exchange?.headers.get('x-api-key'), KEY);
  assert.is(exchange?.text, null);
  assert.is(h.of('auth:token-acquired')[0]?.expiresAt, h.clock.now() + 300 * SECOND);
});

test.run();
