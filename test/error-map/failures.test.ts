import { ClosedError } from '@sluice/core';
import { errorMap, isNetworkError, isTimeoutError, NetworkError } from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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

test('errorMap() is usable with no options and no timer exists before a call', () => {
  const s = setup();
  assert.is(s.clock.pending, 0);
  assert.type(errorMap().handle, 'function');
});

test.run();
