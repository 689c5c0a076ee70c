import { ClosedError, hasCode } from '@sluice/core';
import { isQueueFullError, isQueueTimeoutError, QueueFullError, QueueTimeoutError } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { gate, harness, URL_A, URL_B } from './harness.js';

const twoPerSecond = { rules: [{ limit: 2, windowMs: 1000 }] };

test('sends at once while every limit allows', async () => {
  const { api, clock, sent, of } = harness();
  await Promise.all([api(URL_A), api(URL_A), api(URL_B)]);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@0', '/v2/b@0']);
  assert.equal(
    of('rate-limit:acquired').map((e) => e.waitedMs),
    [0, 0, 0],
  );
  assert.is(of('rate-limit:queued').length, 0);
  assert.is(clock.pending, 0);
});

test('queues requests over the rate in FIFO order and sends each once the window allows', async () => {
  const { api, clock, sent, of } = harness(twoPerSecond);
  const calls = [1, 2, 3, 4, 5].map((n) => api(`${URL_A}?n=${n}`));
  await clock.advance(5000);
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@0', '/v2/a@1000', '/v2/a@1000', '/v2/a@2000']);
  assert.equal(
    of('rate-limit:queued').map((e) => e.queued),
    [1, 2, 3],
    "the key's queue length, the request included",
  );
  assert.equal(
    of('rate-limit:acquired').map((e) => e.waitedMs),
    [0, 0, 1000, 1000, 2000],
  );
});

test('keeps FIFO order within an endpoint', async () => {
  const { api, clock, transport } = harness({ rules: [{ limit: 1, windowMs: 1000 }] });
  const calls = [1, 2, 3, 4].map((n) => api(`${URL_A}?n=${n}`));
  await clock.advance(4000);
  await Promise.all(calls);
  assert.equal(
    transport.calls.map((c) => new URL(c.url).searchParams.get('n')),
    ['1', '2', '3', '4'],
  );
});

test('a full endpoint does not hold up requests of the same key to other endpoints', async () => {
  const { api, clock, transport, sent } = harness({ concurrency: 1 });
  const slow = gate();
  transport.queue(slow.reply);
  const first = api(URL_A);
  const second = track(api(URL_A));
  await clock.flush();
  const other = await api(URL_B);
  assert.is(other.status, 200);
  assert.is(second.settled(), false);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@0']);
  slow.release();
  await first;
  await second.promise;
  assert.equal(sent(), ['/v2/a@0', '/v2/b@0', '/v2/a@0']);
});

test('rejects at once with QueueFullError past maxQueue, sending nothing', async () => {
  const { api, clock, transport, of } = harness({ ...twoPerSecond, maxQueue: 2 });
  const calls = [api(URL_A), api(URL_A), api(URL_A), api(URL_A)];
  const error = await rejects(api(URL_A), QueueFullError);
  assert.ok(isQueueFullError(error));
  assert.ok(hasCode(error, 'ERR_SLUICE_QUEUE_FULL'));
  assert.equal((error as QueueFullError).toJSON(), {
    name: 'QueueFullError',
    code: 'ERR_SLUICE_QUEUE_FULL',
    message: 'rate-limit queue full for key https://api.example: GET https://api.example/v2/a',
    key: 'https://api.example',
    endpoint: '/v2/a',
  });
  assert.equal(of('rate-limit:rejected'), [{ key: 'https://api.example', endpoint: '/v2/a', reason: 'queue-full' }]);
  await clock.advance(2000);
  await Promise.all(calls);
  assert.is(transport.calls.length, 4);
});

test('rejects with QueueTimeoutError after maxWaitMs in the queue', async () => {
  const { api, clock, transport, limiter, of } = harness({ rules: [{ limit: 1, windowMs: 10_000 }], maxWaitMs: 500 });
  await api(URL_A);
  const waiting = track(api(URL_A));
  await clock.advance(499);
  assert.is(waiting.settled(), false);
  await clock.advance(1);
  const error = await rejects(waiting.promise, QueueTimeoutError);
  assert.ok(isQueueTimeoutError(error));
  assert.equal((error as QueueTimeoutError).toJSON(), {
    name: 'QueueTimeoutError',
    code: 'ERR_SLUICE_QUEUE_TIMEOUT',
    message: 'rate-limit queue wait timed out for key https://api.example: GET https://api.example/v2/a',
    key: 'https://api.example',
    endpoint: '/v2/a',
  });
  assert.equal(of('rate-limit:rejected'), [{ key: 'https://api.example', endpoint: '/v2/a', reason: 'timeout' }]);
  assert.equal(limiter.stats(), { keys: 0, queued: 0 });
  assert.is(clock.pending, 0);
  assert.is(transport.calls.length, 1);
});

test('maxWaitMs 0 sends what can go at once and rejects the rest without waiting', async () => {
  const { api, clock } = harness({ rules: [{ limit: 1, windowMs: 1000 }], maxWaitMs: 0 });
  assert.is((await api(URL_A)).status, 200);
  await rejects(api(URL_A), QueueTimeoutError);
  assert.is(clock.pending, 0);
});

test('a request aborted while queued rejects at once with the reason, leaves the queue and holds nothing', async () => {
  const { api, clock, transport, limiter, sent, of } = harness({ rules: [{ limit: 1, windowMs: 1000 }] });
  await api(URL_A);
  const controller = new AbortController();
  const aborted = track(api(URL_A, { signal: controller.signal }));
  const later = track(api(URL_A));
  await clock.flush();
  assert.equal(limiter.stats(), { keys: 1, queued: 2 });
  const reason = new Error('caller gave up');
  controller.abort(reason);
  await clock.flush();
  assert.is(aborted.error(), reason);
  assert.equal(limiter.stats(), { keys: 1, queued: 1 });
  assert.equal(of('rate-limit:rejected'), [{ key: 'https://api.example', endpoint: '/v2/a', reason: 'aborted' }]);
  await clock.advance(1000);
  await later.promise;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@1000'], 'the aborted request took no slot');
  assert.is(transport.calls.length, 2);
});

test('the last queued request aborted leaves no state and no timer', async () => {
  const { api, clock, limiter } = harness({ rules: [{ limit: 1, windowMs: 60_000 }] });
  await api(URL_A);
  const controller = new AbortController();
  const aborted = track(api(URL_A, { signal: controller.signal }));
  await clock.flush();
  assert.is(clock.pending, 1);
  controller.abort();
  await clock.flush();
  assert.ok(aborted.error() instanceof DOMException);
  assert.equal(limiter.stats(), { keys: 0, queued: 0 });
  assert.is(clock.pending, 0);
});

test('close() rejects queued requests with ClosedError, clears timers and leaves the bus', async () => {
  const { api, clock, limiter, of } = harness({ rules: [{ limit: 1, windowMs: 60_000 }] });
  await api(URL_A);
  const waiting = [track(api(URL_A)), track(api(URL_B))];
  await clock.flush();
  assert.ok(api.events.listens('rate-limit:exceeded'));
  await api.close();
  await clock.flush();
  for (const w of waiting) assert.ok(w.error() instanceof ClosedError);
  assert.equal(
    of('rate-limit:rejected').map((e) => e.reason),
    ['closed', 'closed'],
  );
  assert.is(clock.pending, 0);
  assert.equal(limiter.stats(), { keys: 0, queued: 0 });
  assert.is(api.events.listens('rate-limit:exceeded'), false);
});

test('no timer exists at construction, nor once nothing waits', async () => {
  const { api, clock } = harness(twoPerSecond);
  assert.is(clock.pending, 0);
  const calls = [api(URL_A), api(URL_A), api(URL_A)];
  await clock.flush();
  assert.is(clock.pending, 1, 'one timer while one request waits');
  await clock.advance(1000);
  await Promise.all(calls);
  assert.is(clock.pending, 0);
});

test('each waiting request holds one timer, only while it waits', async () => {
  const { api, clock } = harness({ rules: [{ limit: 1, windowMs: 1000 }] });
  const calls = Array.from({ length: 50 }, (_, i) => api(i % 2 ? URL_A : URL_B));
  await clock.flush();
  assert.is(clock.pending, 49);
  await clock.advance(10_000);
  assert.is(clock.pending, 39);
  await clock.runAll();
  await Promise.all(calls);
  assert.is(clock.pending, 0);
});

test.run();
