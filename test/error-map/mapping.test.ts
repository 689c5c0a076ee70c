import { json } from '@sluice/core/testing';
import {
  AuthenticationError,
  ClientError,
  errorMap,
  HttpError,
  type HttpErrorInit,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { caught, setup, URL_ITEMS } from './helpers.js';

const table: Array<[number, typeof HttpError, string, string]> = [
  [400, ClientError, 'ERR_SLUICE_CLIENT', '400 client error: GET https://api.example/v2/items'],
  [401, AuthenticationError, 'ERR_SLUICE_AUTHENTICATION', '401 invalid or expired token: GET https://api.example/v2/items'],
  [403, PermissionError, 'ERR_SLUICE_PERMISSION', '403 insufficient permissions: GET https://api.example/v2/items'],
  [404, NotFoundError, 'ERR_SLUICE_NOT_FOUND', '404 not found: GET https://api.example/v2/items'],
  [409, ClientError, 'ERR_SLUICE_CLIENT', '409 client error: GET https://api.example/v2/items'],
  [422, ClientError, 'ERR_SLUICE_CLIENT', '422 client error: GET https://api.example/v2/items'],
  [429, RateLimitError, 'ERR_SLUICE_RATE_LIMITED', '429 rate limited: GET https://api.example/v2/items'],
  [500, ServerError, 'ERR_SLUICE_SERVER', '500 server error: GET https://api.example/v2/items'],
  [502, ServerError, 'ERR_SLUICE_SERVER', '502 server error: GET https://api.example/v2/items'],
  [503, ServerError, 'ERR_SLUICE_SERVER', '503 server error: GET https://api.example/v2/items'],
];

for (const [status, Class, code, message] of table) {
  test(`maps ${status} to ${Class.name} with its code, message and fields`, async () => {
    const s = setup();
    s.transport.queue(
      json({ error: 'nope', detail: status }, { status, statusText: `Status ${status}`, headers: { 'x-request-id': 'req-42' } }),
    );
    const error = (await caught(s.fetch(`${URL_ITEMS}?page=3`))) as HttpError;
    assert.instance(error, Class);
    assert.instance(error, HttpError);
    assert.is(error.name, Class.name);
    assert.is(error.code, code);
    assert.is(error.message, message);
    assert.is(error.status, status);
    assert.is(error.statusText, `Status ${status}`);
    assert.is(error.method, 'GET');
    assert.is(error.url, URL_ITEMS, 'origin and path, no query');
    assert.is(error.requestId, 'req-42');
    assert.equal(error.body, { error: 'nope', detail: status });
    assert.is(error.attempts, 1);
    assert.is(error.retryAfterMs, undefined);
    assert.equal(s.of('error:mapped'), [{ method: 'GET', url: URL_ITEMS, status, code }]);
  });
}

test('2xx responses pass through untouched', async () => {
  const s = setup();
  s.transport.queue(json({ ok: true }, { status: 201 }));
  const response = await s.fetch(URL_ITEMS, { method: 'POST', body: '{}' });
  assert.is(response.status, 201);
  assert.equal(await response.json(), { ok: true });
  assert.equal(s.of('error:mapped'), []);
});

test('3xx responses are not errors: a 304 for a conditional request passes through', async () => {
  const s = setup();
  s.transport.queue(new Response(null, { status: 304 }));
  assert.is((await s.fetch(URL_ITEMS, { headers: { 'if-none-match': '"v1"' } })).status, 304);
});

test('a status listed in statuses is an error even below 400', async () => {
  const s = setup({ statuses: { 304: HttpError } });
  s.transport.queue(new Response(null, { status: 304 }));
  const error = (await caught(s.fetch(URL_ITEMS))) as HttpError;
  assert.is(error.code, 'ERR_SLUICE_HTTP');
  assert.is(error.message, '304 HTTP error: GET https://api.example/v2/items');
});

test('a text body is kept as text, an empty body as undefined', async () => {
  const s = setup();
  s.transport.queue(new Response('upstream exploded', { status: 502 }), new Response(null, { status: 500 }));
  assert.is(((await caught(s.fetch(URL_ITEMS))) as HttpError).body, 'upstream exploded');
  assert.is(((await caught(s.fetch(URL_ITEMS))) as HttpError).body, undefined);
});

test('JSON sent as text/plain is still parsed; broken JSON stays text', async () => {
  const s = setup();
  s.transport.queue(new Response('{"a":1}', { status: 400 }), new Response('{"a":', { status: 400 }));
  assert.equal(((await caught(s.fetch(URL_ITEMS))) as HttpError).body, { a: 1 });
  assert.is(((await caught(s.fetch(URL_ITEMS))) as HttpError).body, '{"a":');
});

test('the body is capped at maxBodyBytes: truncated text, the rest of the stream cancelled', async () => {
  let cancelled = false;
  let pulls = 0;
  const chunk = new TextEncoder().encode('x'.repeat(1000));
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  const s = setup({ maxBodyBytes: 2500 });
  s.transport.queue(new Response(endless, { status: 500, headers: { 'content-type': 'application/json' } }));
  const error = (await caught(s.fetch(URL_ITEMS))) as HttpError;
  assert.is(error.body, 'x'.repeat(2500));
  await s.clock.flush();
  assert.ok(cancelled, 'the rest of the body is cancelled');
  assert.ok(pulls < 10, `read only about the cap (${pulls} chunks)`);
});

test('a body that breaks off mid-way keeps what arrived, as text', async () => {
  let sent = false;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new TypeError('connection reset'));
      sent = true;
      controller.enqueue(new TextEncoder().encode('{"error":"busy","token":"t-1"'));
    },
  });
  const s = setup();
  s.transport.queue(new Response(broken, { status: 503 }));
  const error = (await caught(s.fetch(URL_ITEMS))) as HttpError;
  assert.instance(error, ServerError);
  assert.is(error.body, '{"error":"busy","token":"[redacted]"');
});

test('the default cap is 64 KiB, and a JSON body over it stays truncated text', async () => {
  const s = setup();
  const big = JSON.stringify({ items: 'y'.repeat(70_000) });
  s.transport.queue(json(JSON.parse(big), { status: 400 }));
  const error = (await caught(s.fetch(URL_ITEMS))) as HttpError;
  assert.type(error.body, 'string');
  assert.is((error.body as string).length, 65_536);
});

test('Retry-After gives retryAfterMs and retryAt on any error status', async () => {
  const s = setup();
  const now = s.clock.now();
  s.transport.queue(new Response('busy', { status: 503, headers: { 'retry-after': '20' } }));
  const error = (await caught(s.fetch(URL_ITEMS))) as ServerError;
  assert.is(error.retryAfterMs, 20_000);
  assert.is(error.retryAt, now + 20_000);
  assert.is(error.message, '503 server error: GET https://api.example/v2/items (retry after 20s)');
});

test('a 429 without Retry-After takes its wait from X-RateLimit-Reset', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 42;
  s.transport.queue(new Response('', { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } }));
  const error = (await caught(s.fetch(URL_ITEMS))) as RateLimitError;
  assert.is(error.retryAfterMs, 42_000);
  assert.is(error.retryAt, reset * 1000);
});

test('X-RateLimit-Reset on a 401 is not a retry hint', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 42;
  s.transport.queue(new Response('', { status: 401, headers: { 'x-ratelimit-reset': String(reset) } }));
  const error = (await caught(s.fetch(URL_ITEMS))) as AuthenticationError;
  assert.is(error.retryAfterMs, undefined);
  assert.is(error.retryAt, undefined);
});

test('requestId comes from the first request-id header present, and the list is configurable', async () => {
  const s = setup();
  s.transport.queue(
    new Response('', { status: 500, headers: { 'x-correlation-id': 'corr-1', 'cf-ray': 'ray-1' } }),
    new Response('', { status: 500, headers: { 'x-amzn-requestid': 'amzn-1' } }),
  );
  assert.is(((await caught(s.fetch(URL_ITEMS))) as HttpError).requestId, 'corr-1');
  assert.is(((await caught(s.fetch(URL_ITEMS))) as HttpError).requestId, 'amzn-1');
  const custom = setup({ requestIdHeaders: ['x-trace'] });
  custom.transport.queue(new Response('', { status: 500, headers: { 'x-trace': 't-9', 'x-request-id': 'ignored' } }));
  assert.is(((await caught(custom.fetch(URL_ITEMS))) as HttpError).requestId, 't-9');
});

test('statuses overrides the class per status (an API that says 420 for rate limits)', async () => {
  const s = setup({ statuses: { 420: RateLimitError, 400: AuthenticationError } });
  s.transport.queue(new Response('', { status: 420, headers: { 'retry-after': '5' } }), new Response('', { status: 400 }));
  const limited = (await caught(s.fetch(URL_ITEMS))) as RateLimitError;
  assert.instance(limited, RateLimitError);
  assert.is(limited.status, 420);
  assert.is(limited.retryAfterMs, 5000);
  assert.instance(await caught(s.fetch(URL_ITEMS)), AuthenticationError);
});

test('classify maps from the body (an API that returns 400 for an expired token)', async () => {
  const s = setup({
    classify: ({ body }) => ((body as { error?: string } | undefined)?.error === 'token_expired' ? AuthenticationError : undefined),
  });
  s.transport.queue(json({ error: 'token_expired' }, { status: 400 }), json({ error: 'bad_filter' }, { status: 400 }));
  assert.instance(await caught(s.fetch(URL_ITEMS)), AuthenticationError);
  assert.instance(await caught(s.fetch(URL_ITEMS)), ClientError);
});

test('classify maps from headers (a 403 that is really a rate limit), and the reset becomes the wait', async () => {
  const s = setup({
    classify: ({ status, headers }) => (status === 403 && headers.get('x-ratelimit-remaining') === '0' ? RateLimitError : undefined),
  });
  const reset = Math.floor(s.clock.now() / 1000) + 60;
  s.transport.queue(new Response('', { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } }));
  const error = (await caught(s.fetch(URL_ITEMS))) as RateLimitError;
  assert.instance(error, RateLimitError);
  assert.is(error.retryAfterMs, 60_000);
});

test("a 403 that says it refused for the rate, as GitHub's do, is a RateLimitError; one for permissions stays a PermissionError", async () => {
  const s = setup();
  const reset = String(Math.floor(s.clock.now() / 1000) + 60);
  s.transport.queue(
    // GitHub's primary limit: none left of its stated limit.
    new Response('', { status: 403, headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset } }),
    // Its secondary limits: a wait asked for.
    new Response('', { status: 403, headers: { 'retry-after': '30' } }),
    // The reference API states what is left with every answer, but no limit: a 403 there is its key's role.
    new Response('', { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset } }),
  );
  const primary = (await caught(s.fetch(URL_ITEMS))) as RateLimitError;
  assert.instance(primary, RateLimitError);
  assert.is(primary.status, 403);
  assert.is(primary.retryAfterMs, 60_000);
  assert.is(((await caught(s.fetch(URL_ITEMS))) as RateLimitError).retryAfterMs, 30_000);
  assert.instance(await caught(s.fetch(URL_ITEMS)), PermissionError);
  // `statuses` mapping 403 itself decides.
  const own = setup({ statuses: { 403: PermissionError } });
  own.transport.queue(new Response('', { status: 403, headers: { 'retry-after': '30' } }));
  assert.instance(await caught(own.fetch(URL_ITEMS)), PermissionError);
});

test('your own subclass keeps the guards and the redaction, and may set its own code', async () => {
  class ConflictError extends ClientError {
    static override code = 'ERR_MY_CONFLICT';
    static override what = 'conflict';
    override name = 'ConflictError';
  }
  class QuotaError extends RateLimitError {
    override name = 'QuotaError';
  }
  const s = setup({ statuses: { 409: ConflictError, 402: QuotaError } });
  s.transport.queue(new Response('', { status: 409 }), new Response('', { status: 402, headers: { 'retry-after': '1' } }));
  const conflict = (await caught(s.fetch(URL_ITEMS))) as ConflictError;
  assert.is(conflict.code, 'ERR_MY_CONFLICT');
  assert.is(conflict.message, '409 conflict: GET https://api.example/v2/items');
  const quota = (await caught(s.fetch(URL_ITEMS))) as QuotaError;
  assert.is(quota.code, 'ERR_SLUICE_RATE_LIMITED', 'inherits the code of its parent');
  assert.is(quota.retryAfterMs, 1000);
});

test('the classes can be constructed directly', () => {
  const init: HttpErrorInit = { status: 429, statusText: '', method: 'GET', url: URL_ITEMS, retryAfterMs: 1500 };
  const error = new RateLimitError(init);
  assert.is(error.message, '429 rate limited: GET https://api.example/v2/items (retry after 2s)');
  assert.equal(error.toJSON(), {
    name: 'RateLimitError',
    code: 'ERR_SLUICE_RATE_LIMITED',
    message: '429 rate limited: GET https://api.example/v2/items (retry after 2s)',
    status: 429,
    statusText: '',
    method: 'GET',
    url: URL_ITEMS,
    retryAfterMs: 1500,
  });
});

test('keepResponse returns the response with its body intact and only emits error:mapped', async () => {
  const s = setup({ keepResponse: true });
  s.transport.queue(json({ error: 'slow down' }, { status: 429 }));
  const response = await s.fetch(URL_ITEMS);
  assert.is(response.status, 429);
  assert.equal(await response.json(), { error: 'slow down' });
  assert.equal(s.of('error:mapped'), [{ method: 'GET', url: URL_ITEMS, status: 429, code: 'ERR_SLUICE_RATE_LIMITED' }]);
});

test('keepResponse with classify reads a copy of the body and leaves the original readable', async () => {
  const s = setup({
    keepResponse: true,
    classify: ({ body }) => ((body as { e?: string }).e === 'auth' ? AuthenticationError : undefined),
  });
  s.transport.queue(json({ e: 'auth' }, { status: 400 }));
  const response = await s.fetch(URL_ITEMS);
  assert.equal(await response.json(), { e: 'auth' });
  assert.is(s.of('error:mapped')[0]?.code, 'ERR_SLUICE_AUTHENTICATION');
});

test('rejects bad options at factory time, naming the option', () => {
  const cases: Array<[Parameters<typeof errorMap>[0], RegExp]> = [
    [{ maxBodyBytes: -1 }, /`maxBodyBytes` must be a non-negative integer, got -1/],
    [{ classify: 'x' as never }, /`classify` must be a function/],
    [{ requestIdHeaders: 'x-request-id' as never }, /`requestIdHeaders` must be an array/],
    [{ statuses: { 418: 'teapot' as never } }, /`statuses\[418\]` must be an HttpError class/],
  ];
  for (const [options, message] of cases) assert.throws(() => errorMap(options), message);
});

test.run();
