import { MAX_HEADER_DELAY_MS } from '@sluice/core/http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { drive, expectedBackoff, ok, setup, status, tooMany, URL_ITEMS } from './helpers.js';

test('waits the Retry-After delta-seconds, and not a millisecond less', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '2' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(1999);
  assert.is(s.transport.calls.length, 1);
  assert.not.ok(call.settled());
  await s.clock.advance(1);
  assert.is(s.transport.calls.length, 2);
  assert.is((await call.promise).status, 200);
  assert.is(s.transport.calls[1]?.at, s.transport.calls[0]!.at + 2000);
});

test("a 403 that says it refused for the rate (GitHub's, with Retry-After) is retried as a 429; a 403 for permissions is not", async () => {
  const s = setup();
  s.transport.queue(status(403, { 'retry-after': '2' }), ok(), status(403));
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(1999);
  assert.is(s.transport.calls.length, 1);
  await s.clock.advance(1);
  assert.is((await call.promise).status, 200);
  assert.equal(s.of('retry:scheduled')[0]?.reason, 'rate-limited');
  const forbidden = track(s.fetch(URL_ITEMS));
  await s.clock.advance(0);
  assert.is((await forbidden.promise).status, 403);
  assert.is(s.transport.calls.length, 3);
});

test('waits until a Retry-After HTTP-date', async () => {
  const s = setup();
  const at = new Date(s.clock.now() + 30_000).toUTCString();
  s.transport.queue(tooMany({ 'retry-after': at }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(29_999);
  assert.is(s.transport.calls.length, 1);
  await s.clock.advance(1);
  assert.is((await call.promise).status, 200);
  assert.equal(s.of('retry:scheduled')[0]?.delayMs, 30_000);
});

test('retries at once when the Retry-After date is already past', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': new Date(s.clock.now() - 60_000).toUTCString() }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(0);
  assert.is((await call.promise).status, 200);
  assert.is(s.of('retry:scheduled')[0]?.delayMs, 0);
});

test('falls back to X-RateLimit-Reset (epoch seconds) when there is no Retry-After', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 45;
  s.transport.queue(tooMany({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(44_999);
  assert.is(s.transport.calls.length, 1);
  await s.clock.advance(1);
  assert.is((await call.promise).status, 200);
  assert.is(s.transport.calls[1]?.at, reset * 1000);
});

test('reads the IETF RateLimit reset when it is the only hint', async () => {
  const s = setup();
  s.transport.queue(tooMany({ ratelimit: 'limit=60, remaining=0, reset=7' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(7000);
  assert.is((await call.promise).status, 200);
  assert.is(s.of('retry:scheduled')[0]?.delayMs, 7000);
});

test('Retry-After wins over X-RateLimit-Reset', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 50;
  s.transport.queue(tooMany({ 'retry-after': '3', 'x-ratelimit-reset': String(reset) }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(3000);
  assert.is((await call.promise).status, 200);
});

test('uses jittered exponential backoff when the server gives no hint', async () => {
  const s = setup({ maxRetries: 3 });
  s.transport.queue(tooMany(), tooMany(), tooMany(), ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
  const delays = s.of('retry:scheduled').map((e) => e.delayMs);
  assert.equal(delays, expectedBackoff(3, 0.5, 1000, 60_000));
  assert.ok(delays[0]! > 0 && delays[1]! > delays[0]! && delays[2]! > delays[1]!, `backoff grows: ${delays}`);
});

test('the injected random source moves the jitter', async () => {
  const low = setup({ random: () => 0.01 });
  const high = setup({ random: () => 0.99 });
  for (const s of [low, high]) {
    s.transport.queue(tooMany(), ok());
    await drive(s.clock, s.fetch(URL_ITEMS));
  }
  const [a] = low.of('retry:scheduled');
  const [b] = high.of('retry:scheduled');
  assert.ok(a!.delayMs < b!.delayMs, `${a!.delayMs} < ${b!.delayMs}`);
  assert.is(a!.delayMs, expectedBackoff(1, 0.01, 1000, 60_000)[0]);
});

test('without an injected random source the backoff stays within its bounds', async () => {
  const s = setup({ random: undefined, baseDelayMs: 100, maxDelayMs: 5000 });
  s.transport.queue(tooMany(), tooMany(), ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
  for (const { delayMs } of s.of('retry:scheduled')) assert.ok(delayMs >= 0 && delayMs <= 5000, String(delayMs));
});

test('the backoff never exceeds maxDelayMs', async () => {
  const s = setup({ baseDelayMs: 10_000, maxDelayMs: 12_000, maxRetries: 4, random: () => 0.99 });
  s.transport.queue(tooMany(), tooMany(), tooMany(), tooMany(), ok());
  await drive(s.clock, s.fetch(URL_ITEMS));
  const delays = s.of('retry:scheduled').map((e) => e.delayMs);
  assert.ok(delays.every((d) => d <= 12_000));
  assert.ok(delays.includes(12_000), `some delay hits the cap: ${delays}`);
});

for (const value of ['soon', '-5', '1e3', '', '   ', 'Wed, 99 Foo 2026 99:99:99 GMT', '12abc', '0x10']) {
  test(`a malformed Retry-After (${JSON.stringify(value)}) falls back to backoff`, async () => {
    const s = setup();
    s.transport.queue(tooMany({ 'retry-after': value }), ok());
    assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
    assert.is(s.of('retry:scheduled')[0]?.delayMs, expectedBackoff(1, 0.5, 1000, 60_000)[0]);
    assert.is(s.of('rate-limit:exceeded')[0]?.retryAfterMs, undefined);
  });
}

test('a malformed Retry-After falls back to X-RateLimit-Reset before backoff', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 9;
  s.transport.queue(tooMany({ 'retry-after': 'later', 'x-ratelimit-reset': String(reset) }), ok());
  await drive(s.clock, s.fetch(URL_ITEMS));
  assert.is(s.of('retry:scheduled')[0]?.delayMs, 9000);
});

test('an absurd Retry-After is clamped, exceeds the cap, and comes back at once as a 429', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '99999999999999999999' }), ok());
  const response = await s.fetch(URL_ITEMS);
  assert.is(response.status, 429);
  assert.is(s.transport.calls.length, 1);
  assert.is(s.clock.pending, 0);
  assert.is(s.of('rate-limit:exceeded')[0]?.retryAfterMs, MAX_HEADER_DELAY_MS);
  assert.is(s.of('retry:exhausted')[0]?.reason, 'delay-too-long');
});

test('X-RateLimit-Reset on a 503 is not a wait: the 503 is retried on backoff', async () => {
  const s = setup();
  const reset = Math.floor(s.clock.now() / 1000) + 50;
  s.transport.queue(status(503, { 'x-ratelimit-reset': String(reset) }), ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
  assert.is(s.of('retry:scheduled')[0]?.delayMs, expectedBackoff(1, 0.5, 1000, 60_000)[0]);
});

test('a 503 Retry-After is honoured', async () => {
  const s = setup();
  s.transport.queue(status(503, { 'retry-after': '4' }), ok());
  const call = track(s.fetch(URL_ITEMS));
  await s.clock.advance(3999);
  assert.is(s.transport.calls.length, 1);
  await s.clock.advance(1);
  assert.is((await call.promise).status, 200);
});

test.run();
