// @sluice/core and @sluice/core/testing as built: what each runtime must run unchanged.
import { needs, ok, streamOf, tagger, tick } from './util.mjs';

export function coreTests({ test, assert, modules }) {
  const reason = new Error('caller gave up');

  test('compose runs interceptors in onion order, first listed outermost', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const order = [];
    const transport = testing.createFakeTransport().fallback(ok);
    const fetch = core.compose([tagger('a', order), tagger('b', order)], { fetch: transport.fetch });
    const response = await fetch('https://api.example/v2/items');
    assert.equal(await response.text(), 'ok');
    assert.deepEqual(order, ['a:in', 'b:in', 'b:out', 'a:out']);
    assert.equal(transport.calls.length, 1);
  });

  test('the composed fetch takes a URL with init or a Request, like fetch', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const transport = testing.createFakeTransport().fallback(ok);
    const fetch = core.compose([], { fetch: transport.fetch });
    await fetch(new URL('https://api.example/a?x=1'), { method: 'POST', body: 'payload', headers: { 'x-a': '1' } });
    await fetch(new Request('https://api.example/b', { method: 'PATCH', body: '{}' }));
    assert.deepEqual(
      transport.calls.map((c) => [c.method, c.url, c.text]),
      [
        ['POST', 'https://api.example/a?x=1', 'payload'],
        ['PATCH', 'https://api.example/b', '{}'],
      ],
    );
    assert.equal(transport.calls[0].headers.get('x-a'), '1');
  });

  test('an interceptor that resolves with a non-Response fails the call with InterceptorError', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const broken = { name: 'broken', handle: async () => 'nope' };
    const fetch = core.compose([broken], { fetch: testing.createFakeTransport().fallback(ok).fetch });
    const error = await assert.rejects(fetch('https://api.example/'));
    assert.ok(core.hasCode(error, 'ERR_SLUICE_INTERCEPTOR'), String(error));
    assert.equal(error.name, 'InterceptorError');
    assert.deepEqual(error.toJSON(), {
      name: 'InterceptorError',
      code: 'ERR_SLUICE_INTERCEPTOR',
      message: error.message,
      interceptor: 'broken',
    });
  });

  test('events reach typed and wildcard listeners, and a throwing listener does not break the call', async () => {
    const { core, testing, http } = needs(modules, 'core', 'testing', 'http');
    const seen = [];
    const emitter = {
      name: 'emitter',
      handle(request, next, ctx) {
        ctx.bus.emit('rate-limit:exceeded', { keyId: 'k1', retryAfterMs: 5, method: request.method, url: http.describeUrl(request.url) });
        return next(request);
      },
    };
    const fetch = core.compose([emitter], { fetch: testing.createFakeTransport().fallback(ok).fetch });
    fetch.events.on('rate-limit:exceeded', () => {
      throw new Error('listener bug');
    });
    fetch.events.on('rate-limit:exceeded', (payload) => seen.push(['typed', payload.url]));
    fetch.events.on('*', (type) => seen.push(['any', type]));
    const response = await fetch('https://api.example/v2/items?secret=1');
    assert.equal(response.status, 200);
    assert.deepEqual(seen, [
      ['any', 'bus:listener-error'],
      ['typed', 'https://api.example/v2/items'],
      ['any', 'rate-limit:exceeded'],
    ]);
    assert.ok(fetch.events.listens('rate-limit:exceeded'));
  });

  test('on() returns an unsubscribe that stops delivery', async () => {
    const { core } = needs(modules, 'core');
    const bus = core.createBus();
    const got = [];
    const off = bus.on('bus:listener-error', (p) => got.push(p.event));
    bus.emit('bus:listener-error', { event: 'a', error: null });
    off();
    bus.emit('bus:listener-error', { event: 'b', error: null });
    assert.deepEqual(got, ['a']);
    assert.equal(bus.listens('bus:listener-error'), false);
  });

  test('an already aborted signal rejects with its reason and sends nothing', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const transport = testing.createFakeTransport().fallback(ok);
    const fetch = core.compose([], { fetch: transport.fetch });
    const error = await assert.rejects(fetch('https://api.example/', { signal: AbortSignal.abort(reason) }));
    assert.equal(error, reason);
    assert.equal(transport.calls.length, 0);
  });

  test('abort while an interceptor waits on the clock rejects with the reason and frees the timer', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const clock = testing.createTestClock();
    const waiter = {
      name: 'waiter',
      async handle(request, next, ctx) {
        await ctx.clock.sleep(10_000, request.signal);
        return next(request);
      },
    };
    const transport = testing.createFakeTransport().fallback(ok);
    const fetch = core.compose([waiter], { fetch: transport.fetch, clock });
    const controller = new AbortController();
    const pending = fetch('https://api.example/', { signal: controller.signal });
    await clock.flush();
    assert.equal(clock.pending, 1);
    controller.abort(reason);
    assert.equal(await assert.rejects(pending), reason);
    assert.equal(clock.pending, 0);
    assert.equal(transport.calls.length, 0);
  });

  test('abort while the transport is answering rejects with the reason', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const transport = testing.createFakeTransport().fallback(() => new Promise(() => {}));
    const fetch = core.compose([], { fetch: transport.fetch });
    const controller = new AbortController();
    const pending = fetch('https://api.example/', { signal: controller.signal });
    await tick();
    controller.abort(reason);
    assert.equal(await assert.rejects(pending), reason);
  });

  test('close runs teardowns last-first, then every call rejects with ClosedError', async () => {
    const { core, testing } = needs(modules, 'core', 'testing');
    const order = [];
    const withTeardown = (name) => ({ name, setup: () => () => order.push(name), handle: (r, next) => next(r) });
    const fetch = core.compose([withTeardown('a'), withTeardown('b')], { fetch: testing.createFakeTransport().fallback(ok).fetch });
    await fetch('https://api.example/');
    await fetch.close();
    await fetch.close();
    assert.deepEqual(order, ['b', 'a']);
    const error = await assert.rejects(fetch('https://api.example/'));
    assert.ok(core.hasCode(error, 'ERR_SLUICE_CLOSED'));
    assert.ok(error instanceof core.ClosedError && core.isSluiceError(error));
    assert.equal(error.name, 'ClosedError');
  });

  test('systemClock sleeps on real timers and an abort rejects the sleep with its reason', async () => {
    const { core } = needs(modules, 'core');
    const before = core.systemClock.now();
    await core.systemClock.sleep(25);
    assert.ok(core.systemClock.now() - before >= 20, `slept ${core.systemClock.now() - before} ms`);
    const controller = new AbortController();
    const pending = core.systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    assert.equal(await assert.rejects(pending), reason);
    assert.equal(await assert.rejects(core.sleep(10, AbortSignal.abort(reason))), reason);
  });

  test('the test clock fires timers in order as it advances, and only then', async () => {
    const { testing } = needs(modules, 'testing');
    const clock = testing.createTestClock({ now: 1_000 });
    const fired = [];
    clock.sleep(300).then(() => fired.push(['b', clock.now()]));
    clock.sleep(100).then(() => fired.push(['a', clock.now()]));
    await clock.advance(99);
    assert.deepEqual(fired, []);
    await clock.advance(100);
    assert.deepEqual(fired, [['a', 1_100]]);
    await clock.runAll();
    assert.deepEqual(fired, [
      ['a', 1_100],
      ['b', 1_300],
    ]);
    assert.equal(clock.pending, 0);
  });

  test('parseRetryAfter reads delta-seconds and HTTP dates and rejects junk', async () => {
    const { http } = needs(modules, 'http');
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    assert.equal(http.parseRetryAfter('7', now), 7_000);
    assert.equal(http.parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(http.parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(http.parseRetryAfter('soon', now), undefined);
    assert.equal(http.parseRetryAfter(null, now), undefined);
    assert.equal(http.parseRetryAfter('99999999999999', now), http.MAX_HEADER_DELAY_MS);
  });

  test('parseRateLimit reads X-RateLimit-* with epoch-second resets and the IETF forms', async () => {
    const { http } = needs(modules, 'http');
    const now = Date.UTC(2026, 0, 1);
    const x = http.parseRateLimit(new Headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': String(now / 1000 + 40) }), now);
    assert.deepEqual(x, { remaining: 3, resetAt: now + 40_000, resetInWholeSeconds: true });
    const ietf = http.parseRateLimit(new Headers({ ratelimit: '"default";r=5;t=30', 'ratelimit-policy': '"default";q=60;w=60' }), now);
    assert.deepEqual(ietf, { remaining: 5, resetAt: now + 30_000, limit: 60, windowMs: 60_000, resetInWholeSeconds: true });
    assert.equal(http.parseRateLimit(new Headers(), now), undefined);
    assert.equal(http.parseResetValue('12', now), now + 12_000);
  });

  test('the fake transport records calls, answers from its queue then its fallback, and names unscripted calls', async () => {
    const { testing } = needs(modules, 'testing');
    const transport = testing.createFakeTransport().queue(testing.json({ n: 1 }, { status: 201 }), new Error('network down'));
    const first = await transport.fetch('https://api.example/a', { method: 'POST', body: 'hi' });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('content-type'), 'application/json');
    assert.deepEqual(await first.json(), { n: 1 });
    const failed = await assert.rejects(transport.fetch('https://api.example/b'));
    assert.equal(failed.message, 'network down');
    const unscripted = await assert.rejects(transport.fetch('https://api.example/c'));
    assert.ok(unscripted.message.includes('GET https://api.example/c'), unscripted.message);
    transport.fallback((call) => new Response(call.method));
    assert.equal(await (await transport.fetch('https://api.example/d', { method: 'DELETE' })).text(), 'DELETE');
    assert.deepEqual(
      transport.calls.map((c) => c.text),
      ['hi', null, null, null],
    );
  });

  test('keepForReplay sends a stream body as it comes and keeps a copy for a second send', async () => {
    const { core, testing, http } = needs(modules, 'core', 'testing', 'http');
    const transport = testing.createFakeTransport().fallback(ok);
    const twice = {
      name: 'twice',
      async handle(request, next, ctx) {
        const kept = http.keepForReplay(request, ctx, 1024);
        try {
          await next(kept.first);
          const again = await kept.again();
          assert.ok(again, 'replayable');
          return await next(again);
        } finally {
          kept.release();
        }
      },
    };
    const fetch = core.compose([twice], { fetch: transport.fetch });
    await fetch('https://api.example/up', { method: 'POST', body: streamOf('ab', 'cd'), duplex: 'half' });
    const own = new Request('https://api.example/up', { method: 'POST', body: streamOf('ef', 'gh'), duplex: 'half' });
    await fetch(own);
    assert.deepEqual(
      transport.calls.map((c) => c.text),
      ['abcd', 'abcd', 'efgh', 'efgh'],
    );
    assert.ok(own.bodyUsed, "the caller's Request is used up");
  });

  test('withHeaders copies a request with changed headers and leaves the original usable', async () => {
    const { http } = needs(modules, 'http');
    const original = new Request('https://api.example/', { method: 'POST', body: 'payload', headers: { 'x-a': '1', 'x-b': '2' } });
    const copy = http.withHeaders(original, { authorization: 'Bearer t', 'x-b': null });
    assert.equal(copy.headers.get('authorization'), 'Bearer t');
    assert.equal(copy.headers.has('x-b'), false);
    assert.equal(original.headers.has('authorization'), false);
    assert.equal(await copy.text(), 'payload');
    assert.equal(await original.text(), 'payload');
  });

  test('describeUrl drops query and credentials; isLoopbackHost knows loopback names', async () => {
    const { http } = needs(modules, 'http');
    assert.equal(http.describeUrl('https://user:pw@api.example/v2/items?api_key=s#x'), 'https://api.example/v2/items');
    assert.equal(http.describeUrl('not a url'), '<invalid url>');
    assert.ok(http.isLoopbackHost('127.0.0.1') && http.isLoopbackHost('[::1]') && http.isLoopbackHost('LOCALHOST.'));
    assert.equal(http.isLoopbackHost('api.example'), false);
  });

  test('error subclasses keep their names and safe JSON after bundling', async () => {
    const { core } = needs(modules, 'core');
    class QueueFull extends core.SluiceError {
      name = 'QueueFullError';
      constructor() {
        super('ERR_SLUICE_QUEUE_FULL', 'queue full: GET https://api.example/', { cause: new Error('inner') });
        this.limit = 3;
        this.secret = 'never';
      }
      safeFields() {
        return ['limit'];
      }
    }
    const error = new QueueFull();
    assert.ok(core.isSluiceError(error) && core.hasCode(error, 'ERR_SLUICE_QUEUE_FULL'));
    assert.equal(core.isSluiceError(new Error('x')), false);
    assert.equal(error.cause.message, 'inner');
    assert.equal(
      JSON.stringify(error),
      '{"name":"QueueFullError","code":"ERR_SLUICE_QUEUE_FULL","message":"queue full: GET https://api.example/","limit":3}',
    );
  });
}
