import { getEventListeners } from 'node:events';
import { compose, onAbort, raceAbort } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { errorMap } from '@sluice/error-map';
import { timeout } from '@sluice/error-map/timeout';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noUnhandledRejections } from '../helpers/index.js';

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;
const reason = new Error('shutting down');

/** Node's MaxListenersExceededWarning, and any other, raised while `fn` runs (warnings are emitted on a later tick). */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

test('onAbort: one listener for any number of waiters, called in order, none left once all leave', () => {
  const controller = new AbortController();
  const calls: number[] = [];
  const offs = Array.from({ length: 100 }, (_, i) => onAbort(controller.signal, () => calls.push(i)));
  assert.is(listeners(controller.signal), 1);
  offs[3]?.();
  for (const off of offs.slice(50)) off();
  assert.is(listeners(controller.signal), 1);
  for (const off of offs.slice(0, 50)) off();
  assert.is(listeners(controller.signal), 0);
  controller.abort(reason);
  assert.equal(calls, []);
});

test('onAbort: an abort calls every waiter once, and a waiter leaving after it changes nothing', () => {
  const controller = new AbortController();
  const calls: number[] = [];
  let offs: (() => void)[] = [];
  // A waiter taken off by an earlier one during the abort is not called: as with removeEventListener.
  onAbort(controller.signal, () => offs[2]?.());
  offs = [0, 1, 2].map((i) => onAbort(controller.signal, () => calls.push(i)));
  controller.abort(reason);
  assert.equal(calls, [0, 1]);
  for (const off of offs) off();
  assert.is(listeners(controller.signal), 0);
  // A new waiter on an aborted signal is never called: the caller checks `aborted`.
  onAbort(controller.signal, () => calls.push(9))();
  assert.equal(calls, [0, 1]);
});

test('raceAbort: 50 races on one signal hold one listener and free it as they settle', async () => {
  const controller = new AbortController();
  const resolvers: (() => void)[] = [];
  const races = Array.from({ length: 50 }, () => raceAbort(new Promise<void>((resolve) => resolvers.push(resolve)), controller.signal));
  assert.is(listeners(controller.signal), 1);
  for (const resolve of resolvers) resolve();
  await Promise.all(races);
  assert.is(listeners(controller.signal), 0);
});

// A caller that sends one Request many times (it is passed on uncopied) shares its signal among every call's waits:
// compose's race, rate-limit's queue, retry-429's pause and timeout's deadline each listen to it.
function sharedRequestPipeline() {
  const clock = createTestClock();
  const pending: ((response: Response) => void)[] = [];
  let sent = 0;
  const fetch = compose(
    [errorMap(), timeout({ ms: 600_000 }), retry429(), rateLimit({ concurrency: 2, rules: [{ limit: 1_000, windowMs: 60_000 }] })],
    {
      clock,
      fetch: () => {
        sent++;
        // The first answer asks for a retry: that call then sleeps on its signal.
        if (sent === 1) return Promise.resolve(new Response('', { status: 429, headers: { 'retry-after': '30' } }));
        return new Promise<Response>((resolve) => pending.push(resolve));
      },
    },
  );
  const controller = new AbortController();
  const request = new Request('https://api.example/v2/incidents', { signal: controller.signal });
  return { clock, fetch, controller, request, pending };
}

test('40 calls of one Request: one listener on its signal, no MaxListeners warning, all settle once when it aborts', async () => {
  await noUnhandledRejections(async () => {
    const { clock, fetch, controller, request } = sharedRequestPipeline();
    let settled: PromiseSettledResult<Response>[] = [];
    const warnings = await warningsDuring(async () => {
      const calls = Array.from({ length: 40 }, () => fetch(request));
      await clock.flush();
      // Waiting: one paused for a retry, two at the transport, the rest queued.
      assert.is(listeners(request.signal), 1);
      controller.abort(reason);
      settled = await Promise.allSettled(calls);
    });
    assert.equal(warnings, []);
    assert.is(settled.length, 40);
    for (const result of settled) assert.is(result.status === 'rejected' && result.reason, reason);
    assert.is(listeners(request.signal), 0);
    assert.is(clock.pending, 0);
    await fetch.close();
  });
});

test('40 calls of one Request that all complete leave no listener on its signal', async () => {
  await noUnhandledRejections(async () => {
    const { clock, fetch, request, pending } = sharedRequestPipeline();
    const warnings = await warningsDuring(async () => {
      const calls = Array.from({ length: 40 }, () => fetch(request));
      let done = 0;
      for (const call of calls) call.then(() => done++);
      // Answer whatever reaches the transport, and let the retry's pause run out, until every call is done.
      for (let step = 0; step < 1_000 && done < 40; step++) {
        for (const resolve of pending.splice(0)) resolve(new Response('ok'));
        await clock.advance(1_000);
      }
      assert.is(done, 40);
    });
    assert.equal(warnings, []);
    assert.is(listeners(request.signal), 0);
    await fetch.close();
    assert.is(clock.pending, 0);
  });
});

test.run();
