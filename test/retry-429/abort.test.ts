import { ClosedError, hasCode } from '@sluice/core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noUnhandledRejections, rejects, track } from '../helpers/index.js';
import { ok, setup, tooMany, URL_ITEMS } from './helpers.js';

test('an abort during the wait rejects with the signal reason and frees the timer at once', async () => {
  await noUnhandledRejections(async () => {
    const s = setup();
    s.transport.queue(tooMany({ 'retry-after': '30' }), ok());
    const controller = new AbortController();
    const call = track(s.fetch(URL_ITEMS, { signal: controller.signal }));
    await s.clock.flush();
    assert.is(s.clock.pending, 1, 'waiting on the virtual clock');
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.is(await rejects(call.promise), reason);
    assert.is(s.clock.pending, 0, 'the timer is gone');
    await s.clock.advance(60_000);
    assert.is(s.transport.calls.length, 1, 'no retry after the abort');
  });
});

test('the default abort reason is an AbortError DOMException, passed through unchanged', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '30' }), ok());
  const controller = new AbortController();
  const call = track(s.fetch(URL_ITEMS, { signal: controller.signal }));
  await s.clock.flush();
  controller.abort();
  const error = await rejects(call.promise);
  assert.is(error, controller.signal.reason);
  assert.is((error as DOMException).name, 'AbortError');
});

test('an AbortSignal.timeout-style reason stays the signal reason', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '30' }), ok());
  const controller = new AbortController();
  const call = track(s.fetch(URL_ITEMS, { signal: controller.signal }));
  await s.clock.flush();
  controller.abort(new DOMException('The operation timed out.', 'TimeoutError'));
  const error = (await rejects(call.promise)) as DOMException;
  assert.is(error.name, 'TimeoutError');
  assert.is(error, controller.signal.reason);
});

test('the wait listens to the request it handles, so an internal request signal ends it too', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '30' }), ok());
  const controller = new AbortController();
  const call = track(s.fetch(new Request(URL_ITEMS, { signal: controller.signal })));
  await s.clock.flush();
  controller.abort('stop');
  assert.is(await rejects(call.promise), 'stop');
  assert.is(s.clock.pending, 0);
});

test('a signal aborted between the 429 and the wait never sleeps', async () => {
  const controller = new AbortController();
  const s = setup();
  s.transport.queue(() => {
    controller.abort('during the request');
    return tooMany({ 'retry-after': '5' })();
  });
  const error = await rejects(s.fetch(URL_ITEMS, { signal: controller.signal }));
  assert.is(error, 'during the request');
  await s.clock.flush();
  assert.is(s.clock.pending, 0);
  assert.is(s.transport.calls.length, 1);
});

test('close() ends a pending wait with ClosedError and frees its timer', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '30' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.flush();
  assert.is(s.clock.pending, 1);
  await s.fetch.close();
  const error = await rejects(call.promise, ClosedError);
  assert.ok(hasCode(error, 'ERR_SLUICE_CLOSED'));
  assert.is(s.clock.pending, 0);
  assert.is(s.transport.calls.length, 1);
});

test.run();
