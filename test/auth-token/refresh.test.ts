import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { API, bearer, harness } from './helpers.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

test('two hours of steady load with 900 s tokens: 10 exchanges, no expired token sent, no request delayed after the first token', async () => {
  const h = harness({ tokenDelayMs: 2 * SECOND });
  const start = h.clock.now();
  const timings: Array<{ sent: number; done: number; status: number }> = [];
  const pending: Promise<void>[] = [];
  for (let t = 0; t < 2 * 3600; t++) {
    const sent = h.clock.now();
    pending.push(
      h.fetch(`${API}/v2/items/${t}`).then((r) => {
        timings.push({ sent, done: h.clock.now(), status: r.status });
      }),
    );
    await h.clock.advance(SECOND);
  }
  await h.clock.advance(10 * SECOND);
  await Promise.all(pending);
  // Refresh starts when 20% (180 s) of the 900 s lifetime is left: at 0, 720, 1440, ... 6480 s.
  assert.is(h.api.exchanges, 10);
  assert.equal(
    h.exchangeCalls().map((c) => (c.at - start) / SECOND),
    [0, 720, 1440, 2160, 2880, 3600, 4320, 5040, 5760, 6480],
  );
  assert.is(h.api.expiredUses, 0);
  assert.ok(timings.every((t) => t.status === 200));
  const firstToken = start + 2 * SECOND;
  const delayed = timings.filter((t) => t.sent >= firstToken && t.done !== t.sent);
  assert.is(delayed.length, 0);
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', ...Array(9).fill('refresh-ahead')],
  );
});

test('counts the expiry from when the exchange was sent, not when it answered', async () => {
  const h = harness({ tokenDelayMs: 20 * SECOND });
  const sent = h.clock.now();
  const response = h.fetch(`${API}/v2/items`);
  await h.clock.advance(20 * SECOND);
  await response;
  const [acquired] = h.of('auth:token-acquired');
  assert.is(acquired?.expiresAt, sent + 900 * SECOND);
  assert.is(acquired?.latencyMs, 20 * SECOND);
});

test('starts one background refresh inside the window while requests keep using the valid token', async () => {
  const h = harness({ tokenDelayMs: 5 * SECOND });
  const first = h.fetch(`${API}/v2/a`);
  await h.clock.advance(5 * SECOND);
  await first;
  await h.clock.advanceTo(h.exchangeCalls()[0]!.at + 720 * SECOND);
  const during = Array.from({ length: 10 }, () => track(h.fetch(`${API}/v2/b`)));
  await h.clock.flush();
  assert.ok(during.every((r) => r.settled()));
  assert.ok(during.every((r) => r.value()?.status === 200));
  assert.is(h.api.exchanges, 2);
  assert.equal(h.apiCalls().slice(1).map(bearer), Array(10).fill('tok-1'));
  await h.clock.advance(5 * SECOND);
  await h.fetch(`${API}/v2/c`);
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-2');
  assert.is(h.api.exchanges, 2);
});

test('does not refresh before the window opens', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/a`);
  await h.clock.advance(720 * SECOND - 1);
  await h.fetch(`${API}/v2/a`);
  assert.is(h.api.exchanges, 1);
  await h.clock.advance(1);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
});

test('waits for a new token once the cached one is within the 30 s safety margin of its expiry', async () => {
  const h = harness({ tokenDelayMs: SECOND });
  const first = h.fetch(`${API}/v2/a`);
  await h.clock.advance(SECOND);
  await first;
  await h.clock.advanceTo(h.exchangeCalls()[0]!.at + 870 * SECOND);
  const late = track(h.fetch(`${API}/v2/a`));
  await h.clock.flush();
  assert.not.ok(late.settled());
  await h.clock.advance(SECOND);
  assert.is((await late.promise).status, 200);
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-2');
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', 'expired'],
  );
});

test('a failed background refresh keeps the valid token and is retried later, not on every request', async () => {
  const h = harness({ maxRetries: 0 });
  await h.fetch(`${API}/v2/a`);
  await h.clock.advance(720 * SECOND);
  h.api.scriptToken(json({ error: 'down' }, { status: 500 }));
  for (let i = 0; i < 20; i++) assert.is((await h.fetch(`${API}/v2/a`)).status, 200);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-failed').at(-1)?.reason, 'refresh-ahead');
  // Next try halfway to the token's stale point (870 s): 720 + 75 = 795 s.
  await h.clock.advance(75 * SECOND);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 3);
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'refresh-ahead');
});

test('a background refresh is not cancelled when the request that started it is aborted', async () => {
  const h = harness({ tokenDelayMs: 5 * SECOND });
  const first = h.fetch(`${API}/v2/a`);
  await h.clock.advance(5 * SECOND);
  await first;
  await h.clock.advance(720 * SECOND);
  const controller = new AbortController();
  await h.fetch(`${API}/v2/a`, { signal: controller.signal });
  controller.abort(new Error('caller gave up'));
  await h.clock.advance(5 * SECOND);
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'refresh-ahead');
  await h.fetch(`${API}/v2/a`);
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-2');
});

test('short-lived tokens get proportionally smaller margins instead of being always expired', async () => {
  const h = harness({ lifetimeS: 60 });
  await h.fetch(`${API}/v2/a`);
  // 60 s token: refresh window capped at half the lifetime (30 s), margin at a quarter (15 s).
  await h.clock.advance(29 * SECOND);
  await h.fetch(`${API}/v2/a`);
  assert.is(h.api.exchanges, 1);
  await h.clock.advance(SECOND);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
});

test('refresh timing follows refreshRatio, refreshWindowMs and skewMs', async () => {
  const h = harness({ refreshRatio: 0, refreshWindowMs: 5 * MINUTE, skewMs: 0 });
  await h.fetch(`${API}/v2/a`);
  await h.clock.advance(10 * MINUTE - 1);
  await h.fetch(`${API}/v2/a`);
  assert.is(h.api.exchanges, 1);
  await h.clock.advance(1);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
});

test.run();
