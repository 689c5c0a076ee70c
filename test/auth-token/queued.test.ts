import { json } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { API, harness } from './helpers.js';

test('a request that waited in a queue past its token’s life is sent with the current token, not replayed after a 401', async () => {
  // 100 calls at 10 a minute queue for ten minutes, twice a 300 s token's life.
  const h = harness({ lifetimeS: 300, after: [rateLimit({ rules: [{ limit: 10, windowMs: 60_000 }] })] });
  const calls = Array.from({ length: 100 }, (_, i) => h.fetch(`${API}/v2/items/${i}`));
  const tracked = calls.map(track);
  await h.clock.advance(11 * 60_000);
  assert.is(tracked.filter((t) => t.settled()).length, 100, 'every call settled within eleven minutes');
  const statuses = (await Promise.all(calls)).map((r) => r.status);
  assert.equal(new Set(statuses), new Set([200]));
  assert.is(h.api.expiredUses, 0, 'no call reached the server with an expired token');
  assert.is(h.apiCalls().length, 100, 'no call needed a 401 replay');
  assert.ok(h.api.exchanges >= 3 && h.api.exchanges <= 4, `one exchange per token life, got ${h.api.exchanges}`);
});

test('the send-time check leaves a still-valid token alone', async () => {
  const h = harness({ after: [rateLimit({ rules: [{ limit: 10, windowMs: 60_000 }] })] });
  const calls = Array.from({ length: 20 }, (_, i) => h.fetch(`${API}/v2/items/${i}`));
  await h.clock.advance(2 * 60_000);
  await Promise.all(calls);
  assert.is(h.api.exchanges, 1);
  assert.equal(new Set(h.apiCalls().map((c) => c.headers.get('authorization'))), new Set(['Bearer tok-1']));
});

/** Each transport call as [path, ms since the first]. */
const timeline = (h: ReturnType<typeof harness>) => {
  const t0 = h.transport.calls[0]?.at ?? 0;
  return h.transport.calls.map((c) => [new URL(c.url).pathname, c.at - t0]);
};

test('a call released by a 429 pause longer than the token’s life gives its slot to the exchange it waits for', async () => {
  // The first call earns a 120 s pause; the two made meanwhile wait through it, and their 60 s token expires.
  const h = harness({ lifetimeS: 60, after: [rateLimit({ rules: [{ limit: 2, windowMs: 10_000 }] })] });
  let first = true;
  h.api.intercept = () => {
    if (!first) return undefined;
    first = false;
    return json({ error: 'rate limited' }, { status: 429, headers: { 'retry-after': '120' } });
  };
  assert.is((await h.fetch(`${API}/v2/items/0`)).status, 429);
  await h.clock.advance(1000);
  const calls = [1, 2].map((i) => h.fetch(`${API}/v2/items/${i}`));
  await h.clock.advance(130_000);
  assert.equal(
    (await Promise.all(calls)).map((r) => r.status),
    [200, 200],
  );
  // After the pause one request probes: call 1. Holding that slot it would have kept the exchange out until the
  // probe's answer was given up on, a window later; it gives the slot to the exchange and goes in the next one free.
  assert.equal(timeline(h), [
    ['/v2/auth/token/access', 0],
    ['/v2/items/0', 0],
    ['/v2/auth/token/access', 120_000],
    ['/v2/items/1', 125_000],
    ['/v2/items/2', 130_000],
  ]);
  assert.is(h.api.expiredUses, 0);
});

test("calls that wait in the limiter past their token's life get new tokens in turn, first come first served, not hold slots until their lease ends", async () => {
  // 2 a window: the first exchange and call 0 fill the first window; calls 1 and 2 wait for the next one at 10 s. While
  // they wait, the token call 0 used is refreshed at its time: that exchange queues first for the next window.
  const h = harness({ lifetimeS: 4, after: [rateLimit({ rules: [{ limit: 2, windowMs: 10_000 }] })] });
  const calls = [0, 1, 2].map((i) => h.fetch(`${API}/v2/items/${i}`));
  const tracked = calls.map(track);
  await h.clock.advance(30_000);
  assert.ok(
    tracked.every((t) => t.settled()),
    'every call settled within 30 s (the slots would have been held for 300 s)',
  );
  assert.equal(
    (await Promise.all(calls)).map((r) => r.status),
    [200, 200, 200],
  );
  assert.equal(timeline(h), [
    ['/v2/auth/token/access', 0],
    ['/v2/items/0', 0],
    // The timed refresh takes one slot of the next window, call 1 the other, with the new token.
    ['/v2/auth/token/access', 10_000],
    ['/v2/items/1', 10_000],
    // Call 2 in the window after, once more with a new token: a 4 s token cannot outlast a 10 s window.
    ['/v2/auth/token/access', 20_000],
    ['/v2/items/2', 20_000],
  ]);
  assert.is(h.api.expiredUses, 0, 'no call was sent with an expired token');
  // A token's life counts from its exchange's send, after the queue.
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.expiresAt - (h.transport.calls[0]?.at ?? 0)),
    [4_000, 14_000, 24_000],
  );
});

/** 4 s tokens that take 2 s to exchange, `limit` a 10 s window; `before` calls first, then one the test aborts. */
function abortLater(limit: number, before: number) {
  const limiter = rateLimit({ rules: [{ limit, windowMs: 10_000 }] });
  const h = harness({ lifetimeS: 4, tokenDelayMs: 2_000, after: [limiter] });
  const controller = new AbortController();
  const reason = new Error('caller gave up');
  const calls = Array.from({ length: before }, (_, i) => h.fetch(`${API}/v2/items/${i}`));
  const aborted = h.fetch(`${API}/v2/items/${before}`, { signal: controller.signal }).then(
    () => 'resolved',
    (e) => e,
  );
  return { limiter, h, abort: () => controller.abort(reason), reason, calls, aborted };
}

test('a call aborted while it holds a slot and waits for a new token is never sent, and its slot is free at once', async () => {
  const { limiter, h, abort, reason, calls, aborted } = abortLater(2, 1);
  // The refresh of the token call 0 used queues first for the window at 12 s (the first exchange's 2 s put call 0 at
  // 2 s); call 1 gets the other slot and waits for that exchange, which takes 2 s.
  await h.clock.advance(13_500);
  assert.equal(
    h.of('rate-limit:acquired').map((e) => e.endpoint),
    ['/v2/auth/token/access', '/v2/items/0', '/v2/auth/token/access', '/v2/items/1'],
  );
  abort();
  await h.clock.flush();
  assert.is(await aborted, reason);
  await h.clock.advance(1_000);
  // Its slot was never used: a call made now goes at once with the new token.
  const late = h.fetch(`${API}/v2/items/2`);
  await h.clock.flush();
  assert.is((await late).status, 200);
  assert.is((await calls[0])?.status, 200);
  assert.equal(
    h.apiCalls().map((c) => new URL(c.url).pathname),
    ['/v2/items/0', '/v2/items/2'],
    'the aborted call never reached the transport',
  );
  assert.equal(limiter.stats(), { keys: 0, queued: 0 });
  await h.fetch.close();
  assert.is(h.clock.pending, 0, 'no timer left');
});

test('a call that gave its slot to the exchange and is aborted while it waits rejects with its reason and leaves nothing queued', async () => {
  const { limiter, h, abort, reason, aborted } = abortLater(1, 0);
  // One a window: the first exchange's window ends at 12 s (its answer came at 2 s); the call gets the only slot then,
  // with a token no call used, expired at 4 s, and gives it to the exchange (2 s).
  await h.clock.advance(13_500);
  assert.equal(
    h.of('rate-limit:acquired').map((e) => e.endpoint),
    ['/v2/auth/token/access', '/v2/items/0', '/v2/auth/token/access'],
  );
  abort();
  await h.clock.advance(20_000);
  assert.is(await aborted, reason);
  assert.equal(limiter.stats(), { keys: 0, queued: 0 });
  assert.is(h.apiCalls().length, 0, 'the aborted call was never sent');
  await h.fetch.close();
  assert.is(h.clock.pending, 0, 'no timer left');
});

test.run();
