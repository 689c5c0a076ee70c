import { InvalidApiKeyError, TokenExchangeError } from '@sluice/auth-token';
import type { Interceptor } from '@sluice/core';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { API, bearer, harness, KEY, TOKEN_PATH } from './helpers.js';

test('1,000 concurrent cold-start requests cause exactly one exchange', async () => {
  const h = harness({ tokenDelayMs: 250 });
  const all = Promise.all(Array.from({ length: 1000 }, (_, i) => h.fetch(`${API}/v2/items/${i}`)));
  await h.clock.advance(250);
  const responses = await all;
  assert.is(h.api.exchanges, 1);
  assert.ok(responses.every((r) => r.status === 200));
  assert.equal(new Set(h.apiCalls().map(bearer)), new Set(['tok-1']));
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial'],
  );
});

test('sends the exchange as POST JSON {"api_key"} to /v2/auth/token/access on the API origin', async () => {
  const h = harness({ baseUrl: `${API}/v2/` });
  await h.fetch(`${API}/v2/items`);
  const [call] = h.exchangeCalls();
  assert.is(call?.method, 'POST');
  assert.is(call?.url, `${API}${TOKEN_PATH}`);
  assert.is(call?.headers.get('content-type'), 'application/json');
  assert.equal(JSON.parse(call?.text ?? ''), { api_key: KEY });
  assert.is(h.apiCalls()[0]?.headers.get('authorization'), 'Bearer tok-1');
});

test('a failed exchange gives every waiter the same typed error, and the next request tries again', async () => {
  const h = harness({ tokenDelayMs: 100 });
  h.api.scriptToken(json({ error: 'nope' }, { status: 401 }));
  const waiters = Array.from({ length: 20 }, () => h.fetch(`${API}/v2/items`).then(String, (e: unknown) => e));
  await h.clock.advance(100);
  const errors = await Promise.all(waiters);
  assert.ok(errors[0] instanceof InvalidApiKeyError);
  assert.ok(errors.every((e) => e === errors[0]));
  assert.is(h.api.exchanges, 1);
  const next = h.fetch(`${API}/v2/items`);
  await h.clock.advance(100);
  assert.is((await next).status, 200);
  assert.is(h.api.exchanges, 2);
});

test('a request arriving after a failed exchange is not served from a poisoned cache', async () => {
  const h = harness();
  h.api.scriptToken(json({ error: 'boom' }, { status: 400 }));
  await rejects(h.fetch(`${API}/v2/a`), TokenExchangeError);
  assert.is((await h.fetch(`${API}/v2/a`)).status, 200);
  assert.is(h.api.exchanges, 2);
});

test('the exchange goes through the interceptors placed after auth-token, with the keyId in the call state', async () => {
  const seen: Array<{ path: string; keyId: string | undefined; auth: string | null }> = [];
  const counter: Interceptor = {
    name: 'counter',
    handle(request, next, ctx) {
      seen.push({ path: new URL(request.url).pathname, keyId: ctx.state.keyId, auth: request.headers.get('authorization') });
      return next(request);
    },
  };
  const h = harness({ after: [counter] });
  await h.fetch(`${API}/v2/items`);
  const keyId = h.of('auth:token-acquired')[0]?.keyId;
  assert.match(keyId ?? '', /^[0-9a-f]{12}$/);
  assert.equal(seen, [
    { path: TOKEN_PATH, keyId, auth: null },
    { path: '/v2/items', keyId, auth: 'Bearer tok-1' },
  ]);
});

test('keyId is a stable fingerprint that does not contain the key', async () => {
  const a = harness();
  const b = harness();
  await a.fetch(`${API}/v2/x`);
  await b.fetch(`${API}/v2/x`);
  const id = a.of('auth:token-acquired')[0]?.keyId ?? '';
  assert.is(id, b.of('auth:token-acquired')[0]?.keyId);
  assert.is(id.length, 12);
  assert.not.ok(KEY.includes(id));
});

test('a warm token serves requests without another exchange', async () => {
  const h = harness();
  for (let i = 0; i < 50; i++) assert.is((await h.fetch(`${API}/v2/items/${i}`)).status, 200);
  assert.is(h.api.exchanges, 1);
});

test.run();
