import { authToken } from '@sluice/auth-token';
import { compose, type Interceptor } from '@sluice/core';
import { createFakeTransport, createTestClock, json, type RecordedCall } from '@sluice/core/testing';
import { errorMap, type HttpError, isHttpError } from '@sluice/error-map';
import { timeout } from '@sluice/error-map/timeout';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { caught } from './helpers.js';

const KEY = 'sk_live_REDACTME_0123456789abcdef';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlX3NlY3JldA';
const API = 'https://api.example';
const SECRETS = [KEY, TOKEN, 'c2lnbmF0dXJlX3NlY3JldA'];
const R = '[redacted]';

/** Every way an error can be turned into text: none may hold the key, the token or the Authorization header. */
function assertClean(error: unknown, what: string) {
  const e = error as Error;
  const views = { message: e.message, stack: String(e.stack), json: JSON.stringify(e), string: String(e) };
  for (const [view, text] of Object.entries(views)) {
    for (const secret of SECRETS) assert.not.ok(text.includes(secret), `${what}: ${view} holds a secret: ${text}`);
    assert.not.ok(/bearer|authorization/i.test(text), `${what}: ${view} mentions the Authorization header: ${text}`);
  }
}

/** The token endpoint issues TOKEN for KEY; every API path answers the scripted status, echoing what it got. */
function api(status: number) {
  return (call: RecordedCall): Response => {
    if (new URL(call.url).pathname === '/v2/auth/token/access') return json({ access_token: TOKEN, expires_in: 900 });
    const auth = call.headers.get('authorization') ?? '';
    const body = {
      error: `rejected ${auth}`,
      authorization: auth,
      api_key: KEY,
      nested: { access_token: TOKEN, note: `api_key=${KEY}&x=1` },
      echo: `Authorization: ${auth}`,
    };
    return json(body, { status, statusText: `Rejected ${TOKEN}`, headers: { 'retry-after': '99999', 'x-echo': auth } });
  };
}

function pipeline(status: number, extra: Interceptor[] = []) {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(api(status));
  const fetch = compose([errorMap(), timeout({ ms: 60_000 }), retry429(), authToken({ apiKey: KEY, baseUrl: API }), ...extra], {
    fetch: transport.fetch,
    clock,
  });
  return { clock, transport, fetch };
}

for (const status of [400, 401, 403, 404, 409, 429, 500, 503]) {
  test(`a ${status} that echoes the key and the token leaks neither through message, stack or JSON`, async () => {
    const p = pipeline(status);
    const error = await caught(p.fetch(`${API}/v2/items?api_key=${KEY}&access_token=${TOKEN}`, { method: 'POST', body: '{}' }));
    assert.ok(isHttpError(error), String(error));
    assert.is((error as HttpError).status, status);
    assertClean(error, String(status));
    const calls = p.transport.calls.filter((c) => c.headers.get('authorization') === `Bearer ${TOKEN}`);
    assert.ok(calls.length > 0, 'the request did carry the token');
  });
}

test('the body kept on the error is scrubbed of the echoed key, token and header', async () => {
  const p = pipeline(400);
  const error = (await caught(p.fetch(`${API}/v2/items`))) as HttpError;
  const body = JSON.stringify(error.body);
  for (const secret of SECRETS) assert.not.ok(body.includes(secret), body);
  assert.equal(error.body, {
    error: `rejected ${R}`,
    authorization: R,
    api_key: R,
    nested: { access_token: R, note: `api_key=${R}&x=1` },
    echo: `Authorization: ${R}`,
  });
  assert.not.ok(error.statusText.includes(TOKEN));
  assert.not.ok('body' in error.toJSON(), 'the body stays out of JSON');
});

test('a text body is scrubbed too: bearer values, JWTs and secret key=value pairs', async () => {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(
    () => new Response(`denied for Bearer ${TOKEN}; token=${TOKEN}; "api_key": "${KEY}"; raw ${TOKEN}`, { status: 401 }),
  );
  const fetch = compose([errorMap()], { fetch: transport.fetch, clock });
  const error = (await caught(fetch(`${API}/v2/items`))) as HttpError;
  for (const secret of SECRETS) assert.not.ok(String(error.body).includes(secret), String(error.body));
});

test('a key echoed in plain prose stays in error.body (it cannot be recognised) but never reaches message, stack or JSON', async () => {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(() => new Response(`the key ${KEY} was revoked`, { status: 403 }));
  const fetch = compose([errorMap()], { fetch: transport.fetch, clock });
  const error = (await caught(fetch(`${API}/v2/items`))) as HttpError;
  assert.ok(String(error.body).includes(KEY), 'documented limit: a bare key in prose is not recognisable');
  assertClean(error, '403 prose');
});

test('a network error whose cause holds the token and the query leaks neither', async () => {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(
    () => new TypeError(`fetch failed for ${API}/v2/items?api_key=${KEY} with Bearer ${TOKEN}`),
  );
  const fetch = compose([errorMap()], { fetch: transport.fetch, clock });
  const error = await caught(fetch(`${API}/v2/items?api_key=${KEY}`, { headers: { authorization: `Bearer ${TOKEN}` } }));
  assertClean(error, 'network');
});

test('a timeout leaks nothing', async () => {
  const stall: Interceptor = { name: 'stall', handle: () => new Promise<Response>(() => {}) };
  const p = pipeline(200, [stall]);
  const call = track(p.fetch(`${API}/v2/items?access_token=${TOKEN}`));
  await p.clock.advance(60_000);
  await p.clock.flush();
  assertClean(await caught(call.promise), 'timeout');
});

test('error:mapped payloads carry no secret', async () => {
  const p = pipeline(401);
  const events: unknown[] = [];
  p.fetch.events.on('error:mapped', (e) => events.push(e));
  await caught(p.fetch(`${API}/v2/items?api_key=${KEY}`));
  const text = JSON.stringify(events);
  for (const secret of SECRETS) assert.not.ok(text.includes(secret), text);
  assert.is(events.length, 1);
});

test.run();
