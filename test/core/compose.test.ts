import { ClosedError, compose, type Interceptor, InterceptorError } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';

const ok = () => new Response('ok');

function tagger(name: string, order: string[]): Interceptor {
  return {
    name,
    async handle(request, next) {
      order.push(`${name}:in`);
      const response = await next(request);
      order.push(`${name}:out`);
      return response;
    },
  };
}

test('runs interceptors in onion order, first listed outermost', async () => {
  const order: string[] = [];
  const transport = createFakeTransport().fallback(ok);
  const fetch = compose([tagger('a', order), tagger('b', order)], { fetch: transport.fetch });
  await fetch('https://api.example/v2/x');
  assert.equal(order, ['a:in', 'b:in', 'b:out', 'a:out']);
});

test('shares one state bag between the interceptors of a call, fresh per call', async () => {
  const seen: unknown[] = [];
  const writer: Interceptor = {
    name: 'writer',
    handle(request, next, ctx) {
      assert.equal(ctx.state.keyId, undefined);
      ctx.state.keyId = request.headers.get('x-key') ?? undefined;
      return next(request);
    },
  };
  const reader: Interceptor = {
    name: 'reader',
    handle(request, next, ctx) {
      seen.push(ctx.state.keyId);
      return next(request);
    },
  };
  const fetch = compose([writer, reader], { fetch: createFakeTransport().fallback(ok).fetch });
  await fetch('https://api.example/a', { headers: { 'x-key': 'k1' } });
  await fetch('https://api.example/b', { headers: { 'x-key': 'k2' } });
  assert.equal(seen, ['k1', 'k2']);
});

test('an interceptor can answer without calling next', async () => {
  const transport = createFakeTransport();
  const cache: Interceptor = { name: 'cache', handle: async () => new Response('cached') };
  const fetch = compose([cache], { fetch: transport.fetch });
  assert.is(await (await fetch('https://api.example/')).text(), 'cached');
  assert.is(transport.calls.length, 0);
});

test('a synchronously throwing interceptor makes the call reject', async () => {
  const boom: Interceptor = {
    name: 'boom',
    handle() {
      throw new Error('boom');
    },
  };
  const fetch = compose([boom], { fetch: createFakeTransport().fallback(ok).fetch });
  const error = await rejects(fetch('https://api.example/'));
  assert.is((error as Error).message, 'boom');
});

test('an interceptor that resolves with something else than a Response rejects with InterceptorError', async () => {
  const bad = { name: 'bad', handle: async () => 'nope' } as unknown as Interceptor;
  const fetch = compose([bad], { fetch: createFakeTransport().fallback(ok).fetch });
  const error = await rejects(fetch('https://api.example/'), InterceptorError);
  assert.is((error as InterceptorError).interceptor, 'bad');
});

test('rejects an interceptor list with a malformed entry at compose time', () => {
  assert.throws(() => compose([{ name: 'x' } as unknown as Interceptor]), /interceptors\[0\]/);
  assert.throws(() => compose('nope' as unknown as Interceptor[]), TypeError);
});

test('looks the global fetch up at call time, not at compose time', async () => {
  const fetch = compose([]);
  const original = globalThis.fetch;
  let called = 0;
  globalThis.fetch = (async () => {
    called++;
    return new Response('patched');
  }) as typeof globalThis.fetch;
  try {
    assert.is(await (await fetch('https://api.example/')).text(), 'patched');
    assert.is(called, 1);
  } finally {
    globalThis.fetch = original;
  }
});

test('calls after close() reject with ClosedError and teardowns run once', async () => {
  let teardowns = 0;
  const withSetup: Interceptor = {
    name: 'with-setup',
    setup: () => () => {
      teardowns++;
    },
    handle: (request, next) => next(request),
  };
  const fetch = compose([withSetup], { fetch: createFakeTransport().fallback(ok).fetch });
  await Promise.all([fetch.close(), fetch.close()]);
  assert.is(teardowns, 1);
  await rejects(fetch('https://api.example/'), ClosedError);
});

test('close() drops every listener of its own bus', async () => {
  const fetch = compose([]);
  let heard = 0;
  fetch.events.on('bus:listener-error', () => heard++);
  await fetch.close();
  fetch.events.emit('bus:listener-error', { event: 'x', error: null });
  assert.is(heard, 0);
});

test('setup receives the shared bus and clock', async () => {
  let received: unknown;
  const probe: Interceptor = {
    name: 'probe',
    setup(env) {
      received = env;
      return undefined;
    },
    handle: (request, next) => next(request),
  };
  const fetch = compose([probe]);
  assert.equal(received, { bus: fetch.events, clock: fetch.clock });
});

test('a rejecting teardown still lets the others run and surfaces from close()', async () => {
  let second = false;
  const failing: Interceptor = {
    name: 'failing',
    setup: () => () => Promise.reject(new Error('teardown failed')),
    handle: (r, n) => n(r),
  };
  const fine: Interceptor = {
    name: 'fine',
    setup: () => () => {
      second = true;
    },
    handle: (r, n) => n(r),
  };
  const fetch = compose([failing, fine]);
  await rejects(fetch.close(), (e) => (e as Error).message === 'teardown failed');
  assert.ok(second);
});

test('next(request, ctx) sends a sub-request with its own state to the interceptors after', async () => {
  const seen: Array<[string, boolean | undefined]> = [];
  const outer: Interceptor = {
    name: 'outer',
    async handle(request, next, ctx) {
      const sub = { ...ctx, state: { priority: true } };
      await next(new Request('https://api.example/sub'), sub);
      return next(request);
    },
  };
  const inner: Interceptor = {
    name: 'inner',
    handle(request, next, ctx) {
      seen.push([new URL(request.url).pathname, ctx.state.priority]);
      return next(request);
    },
  };
  const fetch = compose([outer, inner], { fetch: createFakeTransport().fallback(ok).fetch });
  await fetch('https://api.example/main');
  assert.equal(seen, [
    ['/sub', true],
    ['/main', undefined],
  ]);
});

test('state.beforeSend runs on the request right before the transport, after every interceptor', async () => {
  const transport = createFakeTransport().fallback(ok);
  const order: string[] = [];
  const setter: Interceptor = {
    name: 'setter',
    handle(request, next, ctx) {
      ctx.state.beforeSend = (outgoing) => {
        order.push('beforeSend');
        return new Request(outgoing, { headers: { 'x-late': 'fresh' } });
      };
      return next(request);
    },
  };
  const later: Interceptor = {
    name: 'later',
    handle(request, next) {
      order.push('later');
      return next(request);
    },
  };
  const fetch = compose([setter, later], { fetch: transport.fetch });
  await fetch('https://api.example/');
  assert.equal(order, ['later', 'beforeSend']);
  assert.is(transport.calls[0]!.headers.get('x-late'), 'fresh');
});

test.run();
