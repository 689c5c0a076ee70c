import { json } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
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

test('while calls wait in the limiter, their token is refreshed at its time though none of them reaches auth-token then', async () => {
  // 100 s tokens, refreshed from 80 s. The first call's 429 pauses the key until 150 s; the next call waits meanwhile.
  const h = harness({ lifetimeS: 100, after: [rateLimit()] });
  let first = true;
  h.api.intercept = () => {
    if (!first) return undefined;
    first = false;
    return new Response(null, { status: 429, headers: { 'retry-after': '150' } });
  };
  assert.is((await h.fetch(`${API}/v2/a`)).status, 429);
  const waiting = h.fetch(`${API}/v2/b`);
  await h.clock.advance(79 * SECOND);
  assert.equal(
    h.of('auth:token-requested').map((e) => e.reason),
    ['initial'],
  );
  await h.clock.advance(1 * SECOND);
  assert.equal(
    h.of('auth:token-requested').map((e) => e.reason),
    ['initial', 'refresh-ahead'],
    "at 80 s the refresh starts, and queues first for the pause's end",
  );
  await h.clock.advance(100 * SECOND);
  assert.is((await waiting).status, 200);
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', 'refresh-ahead'],
    'the waiting call went with the refreshed token, not one exchanged because its own had expired',
  );
  assert.is(h.api.expiredUses, 0);
  await h.fetch.close();
  assert.is(h.clock.pending, 0, 'no timer left');
});

test('no timed refresh for calls that go straight through, nor once no call waits', async () => {
  const h = harness({ lifetimeS: 100, after: [rateLimit()] });
  await h.fetch(`${API}/v2/a`);
  assert.is(h.clock.pending, 0, 'the call is over: no timer holds the process open');
  await h.clock.advance(300 * SECOND);
  assert.is(h.api.exchanges, 1, 'nothing refreshed a token nobody needs');
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

/** Drives a request every `everyMs` until `untilMs` after the start; resolves to each request's time of issue and of its send. */
async function steady(h: ReturnType<typeof harness>, everyMs: number, untilMs: number) {
  const start = h.clock.now();
  const issued = new Map<string, number>();
  const pending: Promise<Response>[] = [];
  for (let t = 0; t < untilMs; t += everyMs) {
    await h.clock.advanceTo(start + t);
    const url = `${API}/v2/items/${t}`;
    issued.set(url, start + t);
    pending.push(h.fetch(url));
  }
  await h.clock.advanceTo(start + untilMs);
  await h.clock.runAll();
  const statuses = (await Promise.all(pending)).map((r) => r.status);
  const waits = h.apiCalls().map((c) => c.at - (issued.get(c.url) as number));
  return { start, statuses, waits };
}

test('20 s of traffic with 3 s tokens costs 9 exchanges, one every 2.4 s, not one every half-life', async () => {
  const h = harness({ lifetimeS: 3 });
  const { start, statuses, waits } = await steady(h, 100, 20 * SECOND);
  // Refreshed with 20% (0.6 s) left: 1.25 exchanges per lifetime. Refreshing at half-life, as before, made 14 here.
  assert.equal(
    h.exchangeCalls().map((c) => (c.at - start) / SECOND),
    [0, 2.4, 4.8, 7.2, 9.6, 12, 14.4, 16.8, 19.2],
  );
  assert.ok(statuses.every((status) => status === 200));
  assert.ok(waits.every((ms) => ms === 0));
});

test('a 60 s token is refreshed with 12 s left and used until 3 s before its expiry', async () => {
  const h = harness({ lifetimeS: 60, tokenDelayMs: SECOND });
  const first = h.fetch(`${API}/v2/a`);
  await h.clock.advance(SECOND);
  await first;
  await h.clock.advanceTo(h.exchangeCalls()[0]!.at + 48 * SECOND - 1);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 1);
  await h.clock.advance(1);
  await h.fetch(`${API}/v2/a`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2, 'refresh started at 48 s');
  // The stale margin is 5% of the life (3 s), not a quarter (15 s): a second pipeline whose refresh fails shows it.
  const k = harness({ lifetimeS: 60, maxRetries: 0 });
  await k.fetch(`${API}/v2/a`);
  k.api.scriptToken(json({ error: 'down' }, { status: 500 }));
  await k.clock.advance(56 * SECOND);
  await k.fetch(`${API}/v2/a`);
  assert.is(bearer(k.apiCalls().at(-1)), 'tok-1', 'still in use at 56 s');
  await k.clock.advance(SECOND);
  await k.fetch(`${API}/v2/a`);
  assert.is(bearer(k.apiCalls().at(-1)), 'tok-2', 'from 57 s, a request waits for a new token');
  assert.is(k.of('auth:token-acquired').at(-1)?.reason, 'expired');
});

test('a slow exchange moves the next refresh earlier, so it still ends before the token goes stale', async () => {
  // 10 s tokens, exchanges of 800 ms: the 2 s lead of 20% would leave 1.5 s after the 0.5 s margin. The lead grows to
  // the margin plus twice the last exchange, 2.1 s: refreshes start at 7.9 s of each token's life.
  const h = harness({ lifetimeS: 10, tokenDelayMs: 800 });
  const { start, statuses, waits } = await steady(h, 50, 30 * SECOND);
  assert.equal(
    h.exchangeCalls().map((c) => (c.at - start) / SECOND),
    [0, 7.9, 15.8, 23.7],
  );
  assert.ok(statuses.every((status) => status === 200));
  // Only the requests made before the first token arrived waited.
  assert.is(waits.filter((ms) => ms > 0).length, 800 / 50);
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', 'refresh-ahead', 'refresh-ahead', 'refresh-ahead'],
  );
});

test('an exchange slower than a fifth of the token life: the lead stops at 23% (1.3 exchanges per lifetime) and requests wait for the rest', async () => {
  // 10 s tokens, exchanges of 3 s: starting 6.5 s ahead would cost two exchanges per lifetime. The lead stops at
  // 2.3 s: a refresh starts at 7.7 s, the token goes stale at 9.5 s, the new one arrives at 10.7 s.
  const h = harness({ lifetimeS: 10, tokenDelayMs: 3 * SECOND });
  const { start, statuses, waits } = await steady(h, 100, 20 * SECOND);
  assert.equal(
    h.exchangeCalls().map((c) => (c.at - start) / SECOND),
    [0, 7.7, 15.4],
  );
  assert.ok(statuses.every((status) => status === 200));
  assert.is(h.api.expiredUses, 0);
  // The 30 made before the first token waited, then the 12 made in each 1.2 s from a token going stale (9.5 s, 17.2 s)
  // to the next one's arrival (10.7 s, 18.4 s).
  assert.is(waits.filter((ms) => ms > 0).length, 30 + 12 + 12);
  assert.is(Math.max(...waits.slice(30)), 1.2 * SECOND);
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
