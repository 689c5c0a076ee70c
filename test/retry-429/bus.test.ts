import { compose, createBus, type Interceptor } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { drive, keyed, ok, setup, tooMany, URL_ITEMS } from './helpers.js';

/**
 * Stands in for @sluice/rate-limit's side of the link, as core documents it: on `rate-limit:exceeded` the key
 * is paused for `retryAfterMs`, and every request of that key waits out the pause.
 */
function pausingLimiter(): Interceptor & { pausedUntil: Map<string | undefined, number> } {
  const pausedUntil = new Map<string | undefined, number>();
  return {
    name: 'pausing-limiter',
    pausedUntil,
    setup({ bus, clock }) {
      return bus.on('rate-limit:exceeded', ({ keyId, retryAfterMs }) => {
        if (retryAfterMs !== undefined) pausedUntil.set(keyId, Math.max(pausedUntil.get(keyId) ?? 0, clock.now() + retryAfterMs));
      });
    },
    async handle(request, next, ctx) {
      const until = pausedUntil.get(ctx.state.keyId) ?? 0;
      if (until > ctx.clock.now()) await ctx.clock.sleep(until - ctx.clock.now(), request.signal);
      return next(request);
    },
  };
}

test('emits rate-limit:exceeded on every 429 with keyId, retryAfterMs, method and the URL without its query', async () => {
  const s = setup({}, { after: [keyed('key-abc')] });
  s.transport.queue(tooMany({ 'retry-after': '2' }), tooMany({ 'retry-after': '3' }), ok());
  await drive(s.clock, s.fetch(`${URL_ITEMS}?api_key=sk_live_secret`, { method: 'POST', body: '{}' }));
  assert.equal(s.of('rate-limit:exceeded'), [
    { keyId: 'key-abc', retryAfterMs: 2000, method: 'POST', url: URL_ITEMS },
    { keyId: 'key-abc', retryAfterMs: 3000, method: 'POST', url: URL_ITEMS },
  ]);
});

test('emits rate-limit:exceeded for a 429 it does not retry, with retryAfterMs undefined when the server gave none', async () => {
  const s = setup({ maxRetries: 0 });
  s.transport.queue(tooMany());
  await s.fetch(URL_ITEMS);
  assert.equal(s.of('rate-limit:exceeded'), [{ keyId: undefined, retryAfterMs: undefined, method: 'GET', url: URL_ITEMS }]);
});

test('the event goes out before the wait, so rate-limit pauses the whole key while this call waits', async () => {
  const limiter = pausingLimiter();
  const s = setup({}, { after: [keyed('key-1'), limiter] });
  s.transport.queue(tooMany({ 'retry-after': '5' }));
  s.transport.fallback(ok());
  const first = track(s.fetch(URL_ITEMS));
  await s.clock.flush();
  assert.is(limiter.pausedUntil.get('key-1'), s.clock.now() + 5000);
  const second = track(s.fetch(`${URL_ITEMS}/2`));
  await s.clock.advance(4999);
  assert.is(s.transport.calls.length, 1, 'the other request of the key is held by the pause');
  await s.clock.advance(1);
  assert.is((await first.promise).status, 200);
  assert.is((await second.promise).status, 200);
  assert.ok(s.transport.calls.slice(1).every((c) => c.at >= s.transport.calls[0]!.at + 5000));
});

test('the rate-limit:exceeded payload carries no header, token or query', async () => {
  const s = setup({}, { after: [keyed('k')] });
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  await drive(s.clock, s.fetch(`${URL_ITEMS}?token=abc123secret`, { headers: { authorization: 'Bearer abc123secret' } }));
  const text = JSON.stringify([s.of('rate-limit:exceeded'), s.of('retry:scheduled')]);
  assert.not.ok(text.includes('abc123secret'));
  assert.not.ok(/authorization|bearer/i.test(text));
});

test('the real rate-limit pauses the key on the event alone: a pipeline sharing the bus holds its requests', async () => {
  // Pipeline A has no rate-limit, so only the event can tell pipeline B's rate-limit about A's 429.
  const clock = createTestClock();
  const bus = createBus();
  const transport = createFakeTransport({ clock });
  const a = compose([retry429({ random: () => 0.5 }), keyed('key-1')], { fetch: transport.fetch, clock, bus });
  const b = compose([keyed('key-1'), rateLimit()], { fetch: transport.fetch, clock, bus });
  transport.queue(tooMany({ 'retry-after': '8' }));
  transport.fallback(ok());
  const first = track(a(`${URL_ITEMS}/a`));
  await clock.flush();
  const held = track(b(`${URL_ITEMS}/b`));
  await clock.advance(7999);
  assert.is(transport.calls.length, 1, "B's request waits out the pause A's 429 asked for");
  assert.not.ok(held.settled());
  await clock.advance(1);
  await clock.flush();
  assert.is((await held.promise).status, 200);
  assert.is((await first.promise).status, 200);
  assert.ok(transport.calls.slice(1).every((c) => c.at >= transport.calls[0]!.at + 8000));
  await Promise.all([a.close(), b.close()]);
});

test.run();
