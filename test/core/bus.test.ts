import type { Interceptor } from '@sluice/core';
import { compose, createBus } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('on() returns an unsubscribe', () => {
  const bus = createBus();
  const seen: unknown[] = [];
  const off = bus.on('bus:listener-error', (e) => seen.push(e.event));
  bus.emit('bus:listener-error', { event: 'a', error: null });
  off();
  bus.emit('bus:listener-error', { event: 'b', error: null });
  assert.equal(seen, ['a']);
});

test('a wildcard listener hears every event with its name', () => {
  const bus = createBus();
  const seen: string[] = [];
  bus.on('*', (type) => seen.push(type));
  bus.emit('rate-limit:exceeded', { keyId: 'k', retryAfterMs: 1, method: 'GET', url: 'https://a/' });
  assert.equal(seen, ['rate-limit:exceeded']);
});

test('a throwing listener does not stop the others and is reported on bus:listener-error', () => {
  const bus = createBus();
  const order: string[] = [];
  const failure = new Error('listener broke');
  const reports: unknown[] = [];
  bus.on('bus:listener-error', (e) => reports.push(e));
  bus.on('rate-limit:exceeded', () => {
    order.push('first');
    throw failure;
  });
  bus.on('rate-limit:exceeded', () => order.push('second'));
  bus.emit('rate-limit:exceeded', { keyId: undefined, retryAfterMs: undefined, method: 'GET', url: 'https://a/' });
  assert.equal(order, ['first', 'second']);
  assert.equal(reports, [{ event: 'rate-limit:exceeded', error: failure }]);
});

test('a throwing error listener does not recurse', () => {
  const bus = createBus();
  let calls = 0;
  bus.on('bus:listener-error', () => {
    calls++;
    throw new Error('again');
  });
  bus.on('rate-limit:exceeded', () => {
    throw new Error('first');
  });
  bus.emit('rate-limit:exceeded', { keyId: undefined, retryAfterMs: undefined, method: 'GET', url: 'https://a/' });
  assert.is(calls, 1);
});

test('listens() tells whether anyone listens', () => {
  const bus = createBus();
  assert.is(bus.listens('rate-limit:exceeded'), false);
  const off = bus.on('*', () => {});
  assert.is(bus.listens('rate-limit:exceeded'), true);
  off();
  assert.is(bus.listens('rate-limit:exceeded'), false);
});

test('a listener that throws during a request does not break the request', async () => {
  const emitter: Interceptor = {
    name: 'emitter',
    handle(request, next, ctx) {
      ctx.bus.emit('rate-limit:exceeded', { keyId: undefined, retryAfterMs: 5, method: request.method, url: request.url });
      return next(request);
    },
  };
  const fetch = compose([emitter], { fetch: createFakeTransport().fallback(() => new Response('fine')).fetch });
  fetch.events.on('rate-limit:exceeded', () => {
    throw new Error('bad listener');
  });
  const errors: unknown[] = [];
  fetch.events.on('bus:listener-error', (e) => errors.push(e.event));
  const response = await fetch('https://api.example/');
  assert.is(await response.text(), 'fine');
  assert.equal(errors, ['rate-limit:exceeded']);
});

test('a listener added during emit is not called for that emit; one removed during emit still is', () => {
  const bus = createBus();
  const seen: string[] = [];
  const late = () => seen.push('late');
  const second = () => seen.push('second');
  bus.on('bus:listener-error', () => {
    seen.push('first');
    bus.on('bus:listener-error', late);
    bus.off('bus:listener-error', second);
  });
  bus.on('bus:listener-error', second);
  bus.emit('bus:listener-error', { event: 'x', error: null });
  assert.equal(seen, ['first', 'second']);
});

test.run();
