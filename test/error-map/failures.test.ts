import { ClosedError, type Interceptor } from '@sluice/core';
import { errorMap, isNetworkError, isTimeoutError, NetworkError, TimeoutError } from '@sluice/error-map';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noUnhandledRejections, rejects, track } from '../helpers/index.js';
import { caught, setup, URL_ITEMS } from './helpers.js';

test('a transport TypeError becomes NetworkError, with the original as cause', async () => {
  const s = setup();
  const original = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:443') });
  s.transport.queue(original);
  const error = (await caught(s.fetch(`${URL_ITEMS}?q=1`, { method: 'DELETE' }))) as NetworkError;
  assert.instance(error, NetworkError);
  assert.ok(isNetworkError(error));
  assert.is(error.code, 'ERR_SLUICE_NETWORK');
  assert.is(error.message, 'network error: DELETE https://api.example/v2/items');
  assert.is(error.cause, original);
  assert.equal(error.toJSON(), {
    name: 'NetworkError',
    code: 'ERR_SLUICE_NETWORK',
    message: 'network error: DELETE https://api.example/v2/items',
    method: 'DELETE',
    url: URL_ITEMS,
  });
  assert.equal(s.of('error:mapped'), [{ method: 'DELETE', url: URL_ITEMS, status: undefined, code: 'ERR_SLUICE_NETWORK' }]);
});

test("a caller's abort stays the signal's reason", async () => {
  const s = setup();
  const controller = new AbortController();
  const reason = new Error('user navigated away');
  s.transport.queue(() => {
    controller.abort(reason);
    return new TypeError('fetch failed');
  });
  assert.is(await caught(s.fetch(URL_ITEMS, { signal: controller.signal })), reason);
  assert.equal(s.of('error:mapped'), []);
});

test("AbortSignal.timeout()'s reason stays a DOMException named TimeoutError, not error-map's TimeoutError", async () => {
  const s = setup();
  const controller = new AbortController();
  const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  s.transport.queue(() => {
    controller.abort(reason);
    return reason as unknown as Error;
  });
  const error = await caught(s.fetch(URL_ITEMS, { signal: controller.signal }));
  assert.is(error, reason);
  assert.not.ok(isTimeoutError(error));
});

test("sluice's own errors and other errors pass through unchanged", async () => {
  const closed = new ClosedError('token store');
  const bug = new RangeError('not a network failure');
  const s = setup();
  s.transport.queue(closed, bug);
  assert.is(await caught(s.fetch(URL_ITEMS)), closed);
  assert.is(await caught(s.fetch(URL_ITEMS)), bug);
});

test('timeoutMs rejects with TimeoutError when the call, waits included, outlasts it', async () => {
  await noUnhandledRejections(async () => {
    const s = setup({ timeoutMs: 10_000 }, [retry429({ random: () => 0.5 })]);
    s.transport.queue(new Response('', { status: 429, headers: { 'retry-after': '30' } }));
    const call = track(s.fetch(URL_ITEMS));
    await s.clock.advance(9_999);
    assert.not.ok(call.settled());
    await s.clock.advance(1);
    const error = (await rejects(call.promise, TimeoutError)) as TimeoutError;
    assert.is(error.code, 'ERR_SLUICE_TIMEOUT');
    assert.is(error.timeoutMs, 10_000);
    assert.is(error.message, 'timed out after 10000 ms: GET https://api.example/v2/items');
    assert.ok(isTimeoutError(error));
    await s.clock.flush();
    assert.is(s.clock.pending, 0, "retry-429's wait was released by the same signal");
    assert.is(s.transport.calls.length, 1);
    assert.equal(s.of('error:mapped'), [{ method: 'GET', url: URL_ITEMS, status: undefined, code: 'ERR_SLUICE_TIMEOUT' }]);
  });
});

test('timeoutMs holds even when something below ignores the signal', async () => {
  const stuck: Interceptor = { name: 'stuck', handle: () => new Promise<Response>(() => {}) };
  const s = setup({ timeoutMs: 500 }, [stuck]);
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(500);
  await rejects(call.promise, TimeoutError);
});

test('timeoutMs frees its timer as soon as the response arrives', async () => {
  const s = setup({ timeoutMs: 5000 });
  s.transport.queue(new Response('ok'));
  assert.is((await s.fetch(URL_ITEMS)).status, 200);
  assert.is(s.clock.pending, 0);
});

test('the response body is still readable after timeoutMs let it through', async () => {
  const s = setup({ timeoutMs: 5000 });
  s.transport.queue(new Response('payload'));
  const response = await s.fetch(URL_ITEMS);
  await s.clock.advance(10_000);
  assert.is(await response.text(), 'payload');
});

test("with timeoutMs, the caller's abort still wins and stays its reason", async () => {
  const s = setup({ timeoutMs: 5000 }, [retry429()]);
  s.transport.queue(new Response('', { status: 429, headers: { 'retry-after': '3' } }));
  const controller = new AbortController();
  const call = track(s.fetch(URL_ITEMS, { signal: controller.signal }));
  await s.clock.advance(1000);
  controller.abort('cancelled');
  assert.is(await rejects(call.promise), 'cancelled');
  await s.clock.flush();
  assert.is(s.clock.pending, 0);
});

test('timeoutMs keeps a streamed request body intact', async () => {
  const s = setup({ timeoutMs: 5000 });
  s.transport.queue(new Response('ok'));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('streamed'));
      controller.close();
    },
  });
  await s.fetch(URL_ITEMS, { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.is(s.transport.calls[0]?.text, 'streamed');
});

test('errorMap() is usable with no options and no timer exists before a call', () => {
  const s = setup();
  assert.is(s.clock.pending, 0);
  assert.type(errorMap().handle, 'function');
});

test.run();
