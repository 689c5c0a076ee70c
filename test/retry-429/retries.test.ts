import type { Interceptor } from '@sluice/core';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { drive, ok, setup, status, tooMany, URL_ITEMS } from './helpers.js';

const networkError = () => new TypeError('fetch failed', { cause: new Error('ECONNRESET') });

test('retries a 429 and returns the success', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  const response = await drive(s.clock, s.fetch(URL_ITEMS));
  assert.is(response.status, 200);
  assert.is(await response.text(), 'ok');
  assert.is(s.transport.calls.length, 2);
});

test('stops after maxRetries and hands back the last 429', async () => {
  const s = setup({ maxRetries: 2 });
  s.transport.fallback(tooMany({ 'retry-after': '1' }));
  const response = await drive(s.clock, s.fetch(URL_ITEMS));
  assert.is(response.status, 429);
  assert.is(s.transport.calls.length, 3);
  assert.equal(s.of('retry:exhausted'), [{ method: 'GET', url: URL_ITEMS, attempts: 3, status: 429, reason: 'max-retries' }]);
});

test('maxRetries 0 never retries', async () => {
  const s = setup({ maxRetries: 0 });
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  assert.is((await s.fetch(URL_ITEMS)).status, 429);
  assert.is(s.transport.calls.length, 1);
});

test('sets ctx.attempt before each replay', async () => {
  const seen: number[] = [];
  const spy: Interceptor = {
    name: 'spy',
    handle(request, next, ctx) {
      seen.push(ctx.attempt);
      return next(request);
    },
  };
  const s = setup({}, { after: [spy] });
  s.transport.queue(tooMany({ 'retry-after': '1' }), tooMany({ 'retry-after': '1' }), ok());
  await drive(s.clock, s.fetch(URL_ITEMS));
  assert.equal(seen, [1, 2, 3]);
});

test('emits retry:scheduled with the coming attempt, its delay and the reason', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '2' }), status(503, { 'retry-after': '1' }), ok());
  await drive(s.clock, s.fetch(`${URL_ITEMS}?secret=1`));
  assert.equal(s.of('retry:scheduled'), [
    { method: 'GET', url: URL_ITEMS, attempt: 2, delayMs: 2000, reason: 'rate-limited' },
    { method: 'GET', url: URL_ITEMS, attempt: 3, delayMs: 1000, reason: 'unavailable' },
  ]);
});

// A 403 with Retry-After is a rate limit (GitHub's secondary ones): retried, in server-wait.test.ts.
for (const [code, headers] of [
  [401, { 'retry-after': '1' }],
  [403, {}],
] as const) {
  test(`never retries a ${code}${code === 401 ? ', even with a Retry-After' : ' that states no rate limit'}`, async () => {
    const s = setup();
    s.transport.queue(status(code, headers), ok());
    assert.is((await s.fetch(URL_ITEMS)).status, code);
    assert.is(s.transport.calls.length, 1);
    assert.equal(s.of('retry:scheduled'), []);
    assert.equal(s.of('rate-limit:exceeded'), []);
  });
}

for (const code of [400, 404, 500, 502, 504]) {
  test(`passes a ${code} through untouched`, async () => {
    const s = setup();
    s.transport.queue(status(code), ok());
    assert.is((await s.fetch(URL_ITEMS)).status, code);
    assert.is(s.transport.calls.length, 1);
  });
}

test('retries a 429 for POST: the server refused without acting on it', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  const response = await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', body: '{}' }));
  assert.is(response.status, 200);
  assert.is(s.transport.calls.length, 2);
});

test('retries a 503 for GET and PUT but not for POST or PATCH', async () => {
  for (const [method, expected] of [
    ['GET', 2],
    ['PUT', 2],
    ['POST', 1],
    ['PATCH', 1],
  ] as const) {
    const s = setup();
    s.transport.queue(status(503), ok());
    await drive(s.clock, s.fetch(URL_ITEMS, { method, body: method === 'GET' ? null : 'x' }));
    assert.is(s.transport.calls.length, expected, method);
  }
});

test('methods match whatever case the request method has (fetch leaves "patch" lower-case)', async () => {
  const s = setup({ methods: ['PATCH'] });
  s.transport.queue(status(503), ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS, { method: 'patch', body: 'x' }))).status, 200);
  assert.is(s.transport.calls.length, 2);
});

test('retry503 false leaves 503s alone', async () => {
  const s = setup({ retry503: false });
  s.transport.queue(status(503), ok());
  assert.is((await s.fetch(URL_ITEMS)).status, 503);
  assert.is(s.transport.calls.length, 1);
});

test('methods opts POST in to 503 and network-error retries', async () => {
  const s = setup({ methods: ['post'] });
  s.transport.queue(status(503), networkError(), ok());
  const response = await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', body: 'x' }));
  assert.is(response.status, 200);
  assert.is(s.transport.calls.length, 3);
});

test('retries a network error for GET on backoff', async () => {
  const s = setup();
  s.transport.queue(networkError(), ok());
  const response = await drive(s.clock, s.fetch(URL_ITEMS));
  assert.is(response.status, 200);
  assert.is(s.of('retry:scheduled')[0]?.reason, 'network-error');
});

test('rethrows the last network error once retries are spent', async () => {
  const s = setup({ maxRetries: 1 });
  const last = networkError();
  s.transport.queue(networkError(), last);
  const error = await rejects(drive(s.clock, s.fetch(URL_ITEMS)));
  assert.is(error, last);
  assert.equal(s.of('retry:exhausted'), [{ method: 'GET', url: URL_ITEMS, attempts: 2, status: undefined, reason: 'max-retries' }]);
});

test('does not retry a network error for POST, or when retryNetworkErrors is false', async () => {
  const post = setup();
  post.transport.queue(networkError(), ok());
  await rejects(post.fetch(URL_ITEMS, { method: 'POST', body: 'x' }), TypeError);
  assert.is(post.transport.calls.length, 1);
  const off = setup({ retryNetworkErrors: false });
  off.transport.queue(networkError(), ok());
  await rejects(off.fetch(URL_ITEMS), TypeError);
  assert.is(off.transport.calls.length, 1);
});

test('errors that are not network errors pass through without a retry', async () => {
  const s = setup();
  const boom = new RangeError('interceptor bug');
  s.transport.queue(boom, ok());
  assert.is(await rejects(s.fetch(URL_ITEMS)), boom);
  assert.is(s.transport.calls.length, 1);
});

test('cancels the body of every response it discards, and leaves the returned one alone', async () => {
  const cancelled: string[] = [];
  const body = (name: string) =>
    new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new TextEncoder().encode(name)),
      cancel: () => {
        cancelled.push(name);
      },
    });
  const s = setup({ maxRetries: 1 });
  s.transport.queue(
    () => new Response(body('first'), { status: 429, headers: { 'retry-after': '1' } }),
    () => new Response(body('second'), { status: 429, headers: { 'retry-after': '1' } }),
  );
  const response = await drive(s.clock, s.fetch(URL_ITEMS));
  await s.clock.flush();
  assert.equal(cancelled, ['first']);
  assert.is(response.status, 429);
  assert.not.ok(response.bodyUsed);
});

test('rejects bad options at factory time, naming the option', () => {
  const cases: Array<[Parameters<typeof retry429>[0], RegExp]> = [
    [{ maxRetries: -1 }, /`maxRetries` must be a non-negative integer, got -1/],
    [{ maxRetries: 1.5 }, /`maxRetries`/],
    [{ maxDelayMs: Number.NaN }, /`maxDelayMs` must be a non-negative number/],
    [{ baseDelayMs: -5 }, /`baseDelayMs`/],
    [{ maxBufferBytes: Number.POSITIVE_INFINITY }, /`maxBufferBytes`/],
    [{ methods: 'GET' as never }, /`methods` must be an array/],
    [{ random: 0.5 as never }, /`random` must be a function/],
    [{ budget: { ratio: -1 } }, /`budget.ratio`/],
    [{ budget: { ratio: 0.1, windowMs: 0 } }, /`budget.windowMs` must be a positive number/],
    [{ budget: { ratio: 0.1, minPerSecond: -1 } }, /`budget.minPerSecond`/],
  ];
  for (const [options, message] of cases) assert.throws(() => retry429(options), message);
});

test('undefined options fall back to the defaults and the caller object is not written to', async () => {
  const options = Object.freeze({ maxRetries: undefined, methods: undefined });
  const s = setup(options);
  s.transport.queue(status(503), ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
});

test.run();
