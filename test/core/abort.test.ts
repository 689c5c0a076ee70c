import { compose, type Interceptor } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noUnhandledRejections, rejects } from '../helpers/index.js';

const reason = new Error('caller gave up');

test('an already aborted signal rejects at once with its reason, nothing sent', async () => {
  const transport = createFakeTransport().fallback(() => new Response('ok'));
  const fetch = compose([], { fetch: transport.fetch });
  const controller = new AbortController();
  controller.abort(reason);
  assert.is(await rejects(fetch('https://api.example/', { signal: controller.signal })), reason);
  assert.is(transport.calls.length, 0);
});

test('abort while an interceptor waits on the clock rejects with the reason and frees the timer', async () => {
  const clock = createTestClock();
  const waiter: Interceptor = {
    name: 'waiter',
    async handle(request, next, ctx) {
      await ctx.clock.sleep(10_000, request.signal);
      return next(request);
    },
  };
  const transport = createFakeTransport().fallback(() => new Response('ok'));
  const fetch = compose([waiter], { fetch: transport.fetch, clock });
  const controller = new AbortController();
  const pending = fetch('https://api.example/', { signal: controller.signal });
  await clock.flush();
  assert.is(clock.pending, 1);
  controller.abort(reason);
  assert.is(await rejects(pending), reason);
  assert.is(clock.pending, 0);
  assert.is(transport.calls.length, 0);
});

test('abort while the transport is answering rejects with the reason', async () => {
  const transport = createFakeTransport().fallback(() => new Promise<Response>(() => {}));
  const fetch = compose([], { fetch: transport.fetch });
  const controller = new AbortController();
  const pending = fetch('https://api.example/', { signal: controller.signal });
  await new Promise((r) => setImmediate(r));
  controller.abort(reason);
  assert.is(await rejects(pending), reason);
});

test('abort after the response arrived changes nothing', async () => {
  const fetch = compose([], { fetch: createFakeTransport().fallback(() => new Response('done')).fetch });
  const controller = new AbortController();
  const response = await fetch('https://api.example/', { signal: controller.signal });
  controller.abort(reason);
  assert.is(response.status, 200);
});

test('abort on an interceptor that ignores the signal still settles the call once, without unhandled rejections', async () => {
  await noUnhandledRejections(async () => {
    let release!: () => void;
    const stubborn: Interceptor = {
      name: 'stubborn',
      async handle(_request, _next) {
        await new Promise<void>((r) => {
          release = r;
        });
        throw new Error('late failure');
      },
    };
    const fetch = compose([stubborn], { fetch: createFakeTransport().fallback(() => new Response('x')).fetch });
    const controller = new AbortController();
    const pending = fetch('https://api.example/', { signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort(reason);
    assert.is(await rejects(pending), reason);
    release();
  });
});

test('the signal of a Request input is honoured', async () => {
  const transport = createFakeTransport().fallback(() => new Promise<Response>(() => {}));
  const fetch = compose([], { fetch: transport.fetch });
  const controller = new AbortController();
  const pending = fetch(new Request('https://api.example/', { signal: controller.signal }));
  controller.abort(reason);
  assert.is(await rejects(pending), reason);
});

function countListeners(controller: AbortController) {
  let added = 0;
  let removed = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  const remove = controller.signal.removeEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
    added++;
    return add(...args);
  }) as typeof add;
  controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    removed++;
    return remove(...args);
  }) as typeof remove;
  return () => added - removed;
}

test('the abort listener is removed once the call settles', async () => {
  // The runtime's Request constructor may itself follow the caller's signal; only sluice's own must go.
  const baseline = new AbortController();
  const baselineCount = countListeners(baseline);
  new Request('https://api.example/', { signal: baseline.signal });
  const fetch = compose([], { fetch: createFakeTransport().fallback(() => new Response('x')).fetch });
  const controller = new AbortController();
  const live = countListeners(controller);
  await fetch('https://api.example/', { signal: controller.signal });
  assert.is(live(), baselineCount());
});

test('an abort during the synchronous start of the pipeline still rejects with the reason', async () => {
  const controller = new AbortController();
  const fetch = compose([], {
    fetch: async () => {
      controller.abort(reason);
      throw new TypeError('fetch failed');
    },
  });
  assert.is(await rejects(fetch('https://api.example/', { signal: controller.signal })), reason);
});

test.run();
