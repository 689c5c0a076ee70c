import { errorMap, isRateLimitError, type RateLimitError } from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { ok, setup, status, tooMany, URL_ITEMS } from './helpers.js';

test('a server asking for longer than maxDelayMs gets no wait and no early retry: the 429 comes back at once', async () => {
  const s = setup({ maxDelayMs: 60_000 });
  s.transport.queue(tooMany({ 'retry-after': '120' }), ok());
  const response = await s.fetch(URL_ITEMS);
  assert.is(response.status, 429);
  assert.is(await response.text(), 'status 429', 'the body is left for the caller');
  assert.is(s.transport.calls.length, 1);
  assert.is(s.clock.pending, 0, 'no timer is left behind');
  assert.equal(s.of('retry:exhausted'), [{ method: 'GET', url: URL_ITEMS, attempts: 1, status: 429, reason: 'delay-too-long' }]);
  assert.equal(s.of('retry:scheduled'), []);
});

test('behind error-map the caller catches RateLimitError with the uncapped retryAfterMs and the absolute retryAt', async () => {
  const s = setup({ maxDelayMs: 60_000 }, { before: [errorMap()] });
  s.transport.queue(tooMany({ 'retry-after': '120' }));
  const now = s.clock.now();
  const error = (await rejects(s.fetch(URL_ITEMS), isRateLimitError)) as RateLimitError;
  assert.is(error.retryAfterMs, 120_000);
  assert.is(error.retryAt, now + 120_000);
  assert.is(error.attempts, 1);
});

test('an X-RateLimit-Reset beyond the cap also returns the 429 at once, with the reset as retryAt', async () => {
  const s = setup({ maxDelayMs: 10_000 }, { before: [errorMap()] });
  const reset = Math.floor(s.clock.now() / 1000) + 50;
  s.transport.queue(tooMany({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }));
  const error = (await rejects(s.fetch(URL_ITEMS), isRateLimitError)) as RateLimitError;
  assert.is(error.retryAt, reset * 1000);
  assert.is(s.transport.calls.length, 1);
});

test('a wait of exactly maxDelayMs is still taken', async () => {
  const s = setup({ maxDelayMs: 5000 });
  s.transport.queue(tooMany({ 'retry-after': '5' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(5000);
  assert.is((await call.promise).status, 200);
});

test('a later 429 asking too long ends the retries, after earlier ones were waited out', async () => {
  const s = setup({ maxDelayMs: 10_000 });
  s.transport.queue(tooMany({ 'retry-after': '1' }), tooMany({ 'retry-after': '3600' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(1000);
  const response = await call.promise;
  assert.is(response.status, 429);
  assert.is(s.transport.calls.length, 2);
  assert.is(s.of('retry:exhausted')[0]?.attempts, 2);
  assert.is(s.of('retry:exhausted')[0]?.reason, 'delay-too-long');
});

test('a 503 asking for longer than the cap comes back at once too', async () => {
  const s = setup({ maxDelayMs: 1000 });
  s.transport.queue(status(503, { 'retry-after': '30' }), ok());
  const response = await s.fetch(URL_ITEMS);
  assert.is(response.status, 503);
  assert.is(s.transport.calls.length, 1);
});

test.run();
