import { compose, type Interceptor, SluiceError } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { isTimeoutError } from '@sluice/error-map';
import { TimeoutError, timeout } from '@sluice/error-map/timeout';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noUnhandledRejections, rejects, track } from '../helpers/index.js';
import { caught, setup, URL_ITEMS } from './helpers.js';

// The pipeline of each test is [errorMap(), timeout({ ms }), ...below]: the deadline sits directly inside errorMap.

test('rejects with TimeoutError when the call, waits included, outlasts it', async () => {
  await noUnhandledRejections(async () => {
    const s = setup({}, [timeout({ ms: 10_000 }), retry429({ random: () => 0.5 })]);
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

test('holds even when something below ignores the signal', async () => {
  const stuck: Interceptor = { name: 'stuck', handle: () => new Promise<Response>(() => {}) };
  const s = setup({}, [timeout({ ms: 500 }), stuck]);
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(500);
  await rejects(call.promise, TimeoutError);
});

test('frees its timer as soon as the response arrives', async () => {
  const s = setup({}, [timeout({ ms: 5000 })]);
  s.transport.queue(new Response('ok'));
  assert.is((await s.fetch(URL_ITEMS)).status, 200);
  assert.is(s.clock.pending, 0);
});

test('the response body is still readable after the deadline let it through', async () => {
  const s = setup({}, [timeout({ ms: 5000 })]);
  s.transport.queue(new Response('payload'));
  const response = await s.fetch(URL_ITEMS);
  await s.clock.advance(10_000);
  assert.is(await response.text(), 'payload');
});

test("the caller's abort still wins and stays its reason", async () => {
  const s = setup({}, [timeout({ ms: 5000 }), retry429()]);
  s.transport.queue(new Response('', { status: 429, headers: { 'retry-after': '3' } }));
  const controller = new AbortController();
  const call = track(s.fetch(URL_ITEMS, { signal: controller.signal }));
  await s.clock.advance(1000);
  controller.abort('cancelled');
  assert.is(await rejects(call.promise), 'cancelled');
  await s.clock.flush();
  assert.is(s.clock.pending, 0);
});

test('keeps a streamed request body intact', async () => {
  const s = setup({}, [timeout({ ms: 5000 })]);
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

test('without errorMap above, the deadline still rejects with TimeoutError, and nothing is emitted', async () => {
  const stuck: Interceptor = { name: 'stuck', handle: () => new Promise<Response>(() => {}) };
  const clock = createTestClock();
  const bare = compose([timeout({ ms: 500 }), stuck], { clock });
  const mapped: unknown[] = [];
  bare.events.on('error:mapped', (e) => mapped.push(e));
  const call = track(bare(URL_ITEMS));
  await clock.advance(500);
  assert.ok(isTimeoutError(await rejects(call.promise, TimeoutError)));
  assert.is(clock.pending, 0);
  assert.equal(mapped, []);
});

test('errorMap maps a TimeoutError by its code, so one made by another copy of the package is mapped too', async () => {
  const fromOtherCopy = new SluiceError('ERR_SLUICE_TIMEOUT', 'timed out after 500 ms: GET https://api.example/v2/items');
  const s = setup();
  s.transport.queue(fromOtherCopy);
  assert.is(await caught(s.fetch(URL_ITEMS)), fromOtherCopy);
  assert.equal(s.of('error:mapped'), [{ method: 'GET', url: URL_ITEMS, status: undefined, code: 'ERR_SLUICE_TIMEOUT' }]);
});

test('is named timeout and sets no timer before a call', () => {
  const s = setup({}, [timeout({ ms: 1000 })]);
  assert.is(timeout({ ms: 1000 }).name, 'timeout');
  assert.is(s.clock.pending, 0);
});

test('rejects a bad ms at factory time, naming it', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ ms: 0 }, /`ms` must be a positive number, got 0/],
    [{ ms: -1 }, /`ms` must be a positive number, got -1/],
    [{ ms: Number.POSITIVE_INFINITY }, /`ms` must be a positive number, got Infinity/],
    [{ ms: Number.NaN }, /`ms` must be a positive number, got NaN/],
    [{ ms: '5000' }, /`ms` must be a positive number, got 5000/],
    [{}, /`ms` must be a positive number, got undefined/],
    [undefined, /`ms` must be a positive number, got undefined/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => timeout(options as never),
      (e: unknown) => e instanceof RangeError && message.test(String(e)),
    );
  }
});

test.run();
