import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive, ok, setup, tooMany, URL_ITEMS } from './helpers.js';

const always429 = tooMany({ 'retry-after': '1' });

test('a 429 storm is retried only within the budget: ratio of recent requests plus the per-second floor', async () => {
  // 20 requests in the window allow 0.2 × 20 = 4 retries, plus 0.1/s × 10 s = 1.
  const s = setup({ maxRetries: 3, budget: { ratio: 0.2, minPerSecond: 0.1, windowMs: 10_000 } });
  s.transport.fallback(always429);
  const calls = Array.from({ length: 20 }, () => s.fetch(URL_ITEMS));
  const responses = await drive(s.clock, Promise.all(calls));
  assert.ok(responses.every((r) => r.status === 429));
  assert.is(s.transport.calls.length, 20 + 5, 'five retries in all, not 20 × 3');
  assert.is(s.of('retry:exhausted').filter((e) => e.reason === 'budget-exhausted').length, 20);
});

test('without a budget, the same storm multiplies the load by 1 + maxRetries', async () => {
  const s = setup({ maxRetries: 3 });
  s.transport.fallback(always429);
  await drive(s.clock, Promise.all(Array.from({ length: 20 }, () => s.fetch(URL_ITEMS))));
  assert.is(s.transport.calls.length, 80);
});

test('the floor lets a quiet client retry', async () => {
  const s = setup({ budget: { ratio: 0 } });
  s.transport.queue(always429, ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200);
  assert.is(s.transport.calls.length, 2);
});

test('with ratio 0 and no floor, nothing is retried', async () => {
  const s = setup({ budget: { ratio: 0, minPerSecond: 0 } });
  s.transport.queue(always429, ok());
  assert.is((await s.fetch(URL_ITEMS)).status, 429);
  assert.equal(s.of('retry:exhausted')[0]?.reason, 'budget-exhausted');
});

test('the window slides on the clock: spent retries are forgotten after windowMs', async () => {
  const s = setup({ budget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 } });
  s.transport.queue(always429, ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200, 'the one retry of the window');
  s.transport.queue(always429);
  assert.is((await s.fetch(URL_ITEMS)).status, 429, 'budget spent');
  await s.clock.advance(5000);
  s.transport.queue(always429);
  assert.is((await s.fetch(URL_ITEMS)).status, 429, 'still spent half a window later');
  await s.clock.advance(5000);
  s.transport.queue(always429, ok());
  assert.is((await drive(s.clock, s.fetch(URL_ITEMS))).status, 200, 'a window after the retry, it is available again');
  assert.is(s.transport.calls.length, 6);
});

test('the budget counts on the clock without timers', async () => {
  const s = setup({ budget: { ratio: 0.5 } });
  s.transport.fallback(ok());
  await s.fetch(URL_ITEMS);
  assert.is(s.clock.pending, 0);
});

test.run();
