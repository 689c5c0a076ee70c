import { type AcquireInput, createMemoryStore, type Lease, LOG_CELLS, type StoreRule } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seeded } from './models.js';

const T = Date.UTC(2026, 0, 1);
const inf = Number.POSITIVE_INFINITY;
const perMinute: StoreRule = { limit: 60, windowMs: 60_000, jitterMs: inf };
const perDay: StoreRule = { limit: 1000, windowMs: 86_400_000, jitterMs: inf };
const input = (now: number, more: Partial<AcquireInput> = {}): AcquireInput => ({
  key: 'k',
  endpoint: '/v2/items',
  now,
  rules: [{ limit: 2, windowMs: 1000, jitterMs: inf }],
  concurrency: 5,
  leaseMs: 300_000,
  ...more,
});
const lease = (result: unknown) => {
  assert.ok((result as Lease).ok, 'expected a slot');
  return result as Lease;
};
const refused = (retryAt: number, blocked: 'key' | 'endpoint' = 'key') => ({ ok: false, retryAt, blocked });
const answer = (sentAt: number, at: number, more: object = {}) => ({ sentAt, at, status: 200, ...more });

/** Sends one request after another as the store allows (each answered at once), from `start`; returns the send times. */
function sendTimes(store: ReturnType<typeof createMemoryStore>, start: number, count: number, rules: StoreRule[]) {
  const sends: number[] = [];
  let now = start;
  while (sends.length < count) {
    const result = store.acquire(input(now, { rules }));
    if (!result.ok) now = result.retryAt;
    else {
      sends.push(now - T);
      result.release(now, answer(now, now));
    }
  }
  return sends;
}

test('counts a request from the instant it is released at, so the rule frees a full window after it', () => {
  const store = createMemoryStore();
  lease(store.acquire(input(T))).release(T + 300);
  lease(store.acquire(input(T + 10))).release(T + 400);
  assert.equal(store.acquire(input(T + 500)), refused(T + 1300));
  assert.ok(store.acquire(input(T + 1300)).ok);
});

test('a request released at -Infinity was never sent: its slot and its place in the log are free at once', () => {
  const store = createMemoryStore();
  const one = { concurrency: 1, rules: [{ limit: 1, windowMs: 1000, jitterMs: inf }] };
  const held = lease(store.acquire(input(T, one)));
  assert.is(store.acquire(input(T + 10, one)).ok, false);
  held.release(Number.NEGATIVE_INFINITY);
  lease(store.acquire(input(T + 10, one))).release(T + 20);
  assert.equal(store.acquire(input(T + 30, one)), refused(T + 1020), 'the one sent still counts');
});

test('a bucket does not fold in a request released at -Infinity', () => {
  const store = createMemoryStore();
  const bucket = { concurrency: 5, rules: [{ limit: 1, windowMs: 1000, burst: 2, jitterMs: inf }] };
  lease(store.acquire(input(T, bucket))).release(T);
  lease(store.acquire(input(T + 5, bucket))).release(Number.NEGATIVE_INFINITY);
  lease(store.acquire(input(T + 10, bucket))).release(T + 10);
  assert.equal(store.acquire(input(T + 20, bucket)), refused(T + 1000), 'the burst of 2 went to the two sent');
});

test('counts a request still in flight until it is released, and says a release could free it', () => {
  const store = createMemoryStore();
  lease(store.acquire(input(T)));
  lease(store.acquire(input(T)));
  assert.equal(store.acquire(input(T + 5000)), refused(inf));
});

test('a lease says whether nothing else of the key was in flight (of the endpoint, without rules): only those teach the margin', () => {
  const store = createMemoryStore();
  const first = lease(store.acquire(input(T)));
  assert.is(first.alone, true);
  const second = lease(store.acquire(input(T, { endpoint: '/v2/other' })));
  assert.is(second.alone, false, 'another endpoint of the key is in flight');
  first.release(T + 50);
  second.release(T + 60);
  assert.is(lease(store.acquire(input(T + 2000))).alone, true, 'all answered');
  const unruled = { key: 'free', rules: [] };
  const one = lease(store.acquire(input(T, unruled)));
  assert.is(one.alone, true);
  assert.is(lease(store.acquire(input(T, { ...unruled, endpoint: '/v2/other' }))).alone, true, 'no rule: per endpoint');
  assert.is(lease(store.acquire(input(T, unruled))).alone, false);
  one.release(T + 10);
});

test('with jitterMs, counts from the send plus jitterMs when the release comes later', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: 50 }];
  lease(store.acquire(input(T, { rules }))).release(T + 800);
  assert.equal(store.acquire(input(T + 900, { rules })), refused(T + 1050));
});

test('with jitterMs, a request still in flight counts from its send plus jitterMs', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: 50 }];
  lease(store.acquire(input(T, { rules })));
  assert.equal(store.acquire(input(T + 10, { rules })), refused(inf), 'in flight: a release may free it');
  assert.equal(store.acquire(input(T + 60, { rules })), refused(T + 1050), 'past its jitter it is counted for good');
});

test('every rule holds at once', () => {
  const store = createMemoryStore();
  const rules = [perMinute, { limit: 1, windowMs: 1000, jitterMs: inf }];
  const sends = sendTimes(store, T, 60, rules);
  assert.is(sends[59], 59_000, 'the second rule spaces requests one second apart');
  assert.equal(store.acquire(input(T + 59_500, { rules })), refused(T + 60_000));
});

test('holds at most `concurrency` slots per endpoint, says the endpoint is what blocks, and other endpoints are free', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  for (let i = 0; i < 5; i++) lease(store.acquire(input(T, { rules })));
  assert.equal(store.acquire(input(T, { rules })), refused(T + 300_000, 'endpoint'));
  assert.ok(store.acquire(input(T, { rules, endpoint: '/v2/other' })).ok);
});

test('a released slot is free from the time given, so a failed request can keep it a while', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  lease(store.acquire(input(T, { rules, concurrency: 1 }))).release(T + 1100);
  assert.equal(store.acquire(input(T + 100, { rules, concurrency: 1 })), refused(T + 1100, 'endpoint'));
  assert.ok(store.acquire(input(T + 1100, { rules, concurrency: 1 })).ok);
});

test('takes back a slot that was not released after leaseMs', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  lease(store.acquire(input(T, { rules, concurrency: 1, leaseMs: 10_000 })));
  assert.is(store.acquire(input(T + 9999, { rules, concurrency: 1, leaseMs: 10_000 })).ok, false);
  assert.ok(store.acquire(input(T + 10_000, { rules, concurrency: 1, leaseMs: 10_000 })).ok);
});

test('an answer the log explains sets no budget: a reset rounded up to whole seconds holds nothing', () => {
  const store = createMemoryStore();
  const rules: StoreRule[] = [{ limit: 3, windowMs: 2000, jitterMs: inf }];
  const leases = [0, 1, 2].map(() => lease(store.acquire(input(T, { rules }))));
  // The server counted the three, and says so with a reset rounded up to the next second.
  leases.forEach((l, i) => {
    l.release(T + 50, answer(T, T + 50, { remaining: 2 - i, limit: 3, resetAt: T + 3000 }));
  });
  assert.equal(store.acquire(input(T + 100, { rules })), refused(T + 2050), 'the log, not the reset, says when');
  assert.ok(store.acquire(input(T + 2050, { rules })).ok);
});

test('an answer the log cannot explain (another client on the key) sets a budget: no more than remaining, less the sends since', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const first = lease(store.acquire(input(T, { rules })));
  lease(store.acquire(input(T, { rules })));
  first.release(T + 100, answer(T, T + 100, { remaining: 3, resetAt: T + 30_000 }));
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.equal(store.acquire(input(T + 100, { rules })), refused(T + 30_000));
  assert.ok(store.acquire(input(T + 30_000, { rules })).ok);
});

test('ignores an answer older than the one the budget came from', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const first = lease(store.acquire(input(T, { rules })));
  const second = lease(store.acquire(input(T, { rules })));
  second.release(T + 50, answer(T, T + 50, { remaining: 1, resetAt: T + 30_000 }));
  first.release(T + 60, answer(T, T + 60, { remaining: 40, resetAt: T + 30_000 }));
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.is(store.acquire(input(T + 100, { rules })).ok, false);
});

test('remaining 0 the log cannot explain pauses the key until the reset, then one request goes before the rest', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const sent = lease(store.acquire(input(T, { rules })));
  assert.equal(sent.release(T + 100, answer(T, T + 100, { remaining: 0, resetAt: T + 20_000 })), {
    paused: { until: T + 20_000, reason: 'remaining' },
  });
  assert.equal(store.acquire(input(T + 100, { rules })), refused(T + 20_000));
  const probe = lease(store.acquire(input(T + 20_000, { rules })));
  assert.is(store.acquire(input(T + 20_000, { rules })).ok, false, 'the probe goes alone');
  probe.release(T + 20_200, answer(T + 20_000, T + 20_200));
  assert.ok(store.acquire(input(T + 20_200, { rules })).ok);
});

test('skips a remaining-0 pause that the log already enforces', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 60_000, jitterMs: inf }];
  const outcome = lease(store.acquire(input(T, { rules }))).release(T + 100, answer(T, T + 100, { remaining: 0, resetAt: T + 60_000 }));
  assert.is(outcome, undefined);
});

test('a pause from the bus holds the key, then lets one request go, and the rest once an answer to it arrives', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  assert.is(store.pause('k', T + 5000, T, rules), T + 5000);
  assert.is(store.pause('k', T + 4000, T, rules), 0, 'a shorter pause changes nothing');
  assert.equal(store.acquire(input(T, { rules })), refused(T + 5000));
  const probe = lease(store.acquire(input(T + 5000, { rules })));
  assert.is(store.acquire(input(T + 5000, { rules })).ok, false);
  probe.release(T + 5200, answer(T + 5000, T + 5200));
  assert.ok(store.acquire(input(T + 5200, { rules })).ok);
});

test('a 429 lasts at least until the reset of a budget its headers say is spent', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const sent = lease(store.acquire(input(T, { rules })));
  const outcome = sent.release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100, remaining: 0, resetAt: T + 30_000 }));
  assert.equal(outcome, { paused: { until: T + 30_000, reason: '429' } });
});

test('a 429 fills the rule it can mean by formula: afterwards one request per windowMs / limit', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 4, windowMs: 4000, jitterMs: inf }];
  lease(store.acquire(input(T, { rules }))).release(T, answer(T, T, { status: 429, retryAt: T + 10_000 }));
  assert.equal(sendTimes(store, T, 4, rules), [10_000, 11_000, 12_000, 13_000]);
});

test('a 429 on rules of a minute and a day means the minute: the key is back to its full rate within a minute', () => {
  const store = createMemoryStore();
  const rules = [perMinute, perDay];
  lease(store.acquire(input(T, { rules }))).release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100 }));
  const sends = sendTimes(store, T + 100, 180, rules);
  // The pause, then the minute's assumed-full log frees one a second: the rule's own rate, 60 a minute, from the
  // pause's end on (the day's rule would have freed one per 86.4 s).
  assert.equal(sends.slice(0, 5), [1100, 2100, 3100, 4100, 5100]);
  for (const from of [1100, 61_100, 121_100]) assert.is(sends.filter((s) => s >= from && s < from + 60_000).length, 60, `from ${from}`);
});

test('a 429 in a row, to the probe after the first, means the next longer rule', () => {
  const store = createMemoryStore();
  const rules = [perMinute, perDay];
  lease(store.acquire(input(T, { rules }))).release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100 }));
  const probe = lease(store.acquire(input(T + 1100, { rules })));
  probe.release(T + 1200, answer(T + 1100, T + 1200, { status: 429, retryAt: T + 2200 }));
  // The day is now assumed full: one request per 86.4 s. (Its log keeps a cell per 22.5 minutes, and the three requests of
  // that cell, the two refused among them, are dated at its latest: two steps more before the second.)
  const sends = sendTimes(store, T + 1200, 3, rules);
  assert.is(sends[0], 2200);
  assert.ok((sends[1] as number) - 2200 <= 3 * 86_400, `${sends[1]}`);
  assert.is((sends[2] as number) - (sends[1] as number), 86_400);
});

test('429s to requests in flight when the first came belong to its pause: they escalate nothing', () => {
  const store = createMemoryStore();
  const rules = [perMinute, perDay];
  const leases = [0, 1, 2].map(() => lease(store.acquire(input(T, { rules }))));
  for (const l of leases) l.release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100 }));
  assert.equal(sendTimes(store, T + 100, 3, rules), [1100, 2100, 3100], 'still the minute');
});

test('a later 429 to a request in flight when the first came lengthens the pause, and fills no rule anew', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 4, windowMs: 4000, jitterMs: inf }];
  const [first, second] = [0, 1].map(() => lease(store.acquire(input(T, { rules }))));
  first?.release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100 }));
  second?.release(T + 150, answer(T, T + 150, { status: 429, retryAt: T + 1600 }));
  // Full until the first 429's wait, one a second; the second's wait only holds the key longer. The two refused count
  // until a window after their answers (a server may count what it refuses).
  assert.equal(sendTimes(store, T + 150, 4, rules), [1600, 2100, 4100, 4150]);
});

test('a 429 whose headers name the limit fills that rule', () => {
  const store = createMemoryStore();
  const rules = [perMinute, perDay];
  lease(store.acquire(input(T, { rules }))).release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100, limit: 1000 }));
  const sends = sendTimes(store, T + 100, 3, rules);
  assert.is(sends[0], 1100);
  assert.ok((sends[1] as number) - 1100 <= 2 * 86_400, `${sends[1]}`);
  assert.is((sends[2] as number) - (sends[1] as number), 86_400, 'one per 86.4 s: the day, not the minute');
});

test('after a 429 the state of a rule of ten million per day is a few entries, not ten million', () => {
  const store = createMemoryStore();
  const huge: StoreRule = { limit: 10_000_000, windowMs: 86_400_000, jitterMs: inf };
  const started = performance.now();
  lease(store.acquire(input(T, { rules: [huge] }))).release(T + 100, answer(T, T + 100, { status: 429, retryAt: T + 1100 }));
  const tookMs = performance.now() - started;
  assert.ok(tookMs < 50, `a 429 took ${tookMs} ms`);
  // One request per 8.64 ms from the pause's end: 1,000 go in the 8.64 s after it.
  const sends = sendTimes(store, T + 100, 1000, [huge]);
  assert.ok((sends[999] as number) - 1100 <= 8640 + 86_400_000 / LOG_CELLS, `1,000 took ${(sends[999] as number) - 1100} ms`);
});

test('a bucket rule lets its burst go at once, then one per windowMs / limit after the answers', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: inf, burst: 3 }];
  for (let i = 0; i < 3; i++) lease(store.acquire(input(T, { rules }))).release(T + 100);
  assert.equal(store.acquire(input(T + 100, { rules })), refused(T + 1100));
  lease(store.acquire(input(T + 1100, { rules }))).release(T + 1200);
  assert.equal(store.acquire(input(T + 1200, { rules })), refused(T + 2100), 'the bucket refills at its rate, not per window');
});

test('a bucket rule counts a request in flight as counted now, so its burst never grows', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: inf, burst: 2 }];
  lease(store.acquire(input(T, { rules })));
  const second = lease(store.acquire(input(T + 500, { rules })));
  assert.equal(store.acquire(input(T + 5000, { rules })), refused(T + 6000), 'two in flight fill a burst of two');
  second.release(T + 5000);
  assert.equal(store.acquire(input(T + 5000, { rules })), refused(T + 6000));
});

test('a bucket rule with jitterMs pays the jitter once, not per request', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 10, windowMs: 1000, jitterMs: 3, burst: 2 }];
  const sends: number[] = [];
  let now = T;
  while (sends.length < 6) {
    const result = store.acquire(input(now, { rules, concurrency: 10 }));
    if (!result.ok) now = result.retryAt;
    else {
      sends.push(now - T);
      result.release(now + 50);
    }
  }
  assert.equal(sends, [0, 0, 103, 203, 303, 403]);
});

test('a bucket rule of 10 million a second keeps count: its 0.1 µs step is not lost in epoch-time arithmetic', () => {
  const store = createMemoryStore();
  // At an epoch time in ms a double holds about 0.24 µs: a step added to it would vanish, and the bucket never fill.
  const rules = [{ limit: 10_000_000, windowMs: 1000, jitterMs: inf, burst: 10 }];
  let sent = 0;
  for (let i = 0; i < 20; i++) {
    const result = store.acquire(input(T, { rules, concurrency: inf }));
    if (result.ok) {
      sent++;
      result.release(T);
    }
  }
  assert.is(sent, 10, 'the burst, and no more at the same instant');
  const next = store.acquire(input(T, { rules, concurrency: inf }));
  assert.ok(!next.ok && next.retryAt > T && next.retryAt - T < 0.001, JSON.stringify(next));
});

test('a 429 empties a bucket rule: after the pause one request, then one per windowMs / limit', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 4, windowMs: 4000, jitterMs: inf, burst: 4 }];
  lease(store.acquire(input(T, { rules }))).release(T, answer(T, T, { status: 429, retryAt: T + 10_000 }));
  assert.equal(sendTimes(store, T, 4, rules), [10_000, 11_000, 12_000, 13_000]);
});

test('a token exchange counts until an answer after it shows the server counted one request of the two', () => {
  const store = createMemoryStore();
  const rules: StoreRule[] = [{ limit: 3, windowMs: 10_000, jitterMs: inf }];
  const exchange = lease(store.acquire(input(T, { rules, tokenExchange: true })));
  assert.is(exchange.release(T + 50, answer(T, T + 50)), undefined, 'no quota on its answer: still counted');
  const first = lease(store.acquire(input(T + 50, { rules })));
  const second = lease(store.acquire(input(T + 50, { rules })));
  assert.is(store.acquire(input(T + 50, { rules })).ok, false, 'the exchange took the third');
  assert.equal(first.release(T + 100, answer(T + 50, T + 100, { remaining: 2, limit: 3, resetAt: T + 10_100 })), {
    tokenExchangeCounted: false,
  });
  second.release(T + 100, answer(T + 50, T + 100, { remaining: 1, limit: 3, resetAt: T + 10_100 }));
  lease(store.acquire(input(T + 100, { rules }))).release(T + 150);
  assert.is(store.acquire(input(T + 150, { rules })).ok, false, 'its slot was back for one more');
  lease(store.acquire(input(T + 20_000, { rules, tokenExchange: true }))).release(T + 20_050, answer(T + 20_000, T + 20_050));
  for (let i = 0; i < 3; i++) assert.ok(store.acquire(input(T + 20_050, { rules })).ok, 'the next exchange counts no more');
});

test('a token exchange answered with a quota counts', () => {
  const store = createMemoryStore();
  const rules: StoreRule[] = [{ limit: 3, windowMs: 10_000, jitterMs: inf }];
  const exchange = lease(store.acquire(input(T, { rules, tokenExchange: true })));
  assert.equal(exchange.release(T + 50, answer(T, T + 50, { remaining: 2, limit: 3, resetAt: T + 10_000 })), {
    tokenExchangeCounted: true,
  });
  const first = lease(store.acquire(input(T + 50, { rules })));
  assert.is(
    first.release(T + 100, answer(T + 50, T + 100, { remaining: 2, limit: 3, resetAt: T + 10_100 })),
    undefined,
    'settled: no more learning',
  );
  lease(store.acquire(input(T + 100, { rules })));
  assert.is(store.acquire(input(T + 100, { rules })).ok, false);
});

test('a late answer to a send from a dropped state does not widen the new budget', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  let old = lease(store.acquire(input(T, { rules, leaseMs: 1000 })));
  for (let i = 0; i < 3; i++) old = lease(store.acquire(input(T, { rules, leaseMs: 1000 })));
  for (let i = 0; i < 10; i++) lease(store.acquire(input(T, { key: `other${i}`, rules }))).release(T);
  assert.is(store.prune(T + 120_000), 0);
  const fresh = lease(store.acquire(input(T + 120_000, { rules })));
  lease(store.acquire(input(T + 120_000, { rules })));
  assert.ok(fresh.seq > old.seq, 'numbers are not reused');
  fresh.observe(answer(T + 120_000, T + 120_001, { remaining: 1, limit: 100, resetAt: T + 150_000 }));
  assert.equal(store.acquire(input(T + 120_001, { rules })), refused(T + 150_000), 'of 1 left, the 2 sent since took it');
  old.release(T + 120_002, answer(T, T + 120_002, { remaining: 50, limit: 100, resetAt: T + 150_000 }));
  assert.equal(store.acquire(input(T + 120_002, { rules })), refused(T + 150_000), 'the stale answer is ignored');
});

test('a log holds at most LOG_CELLS + 1 entries whatever the limit, and frees requests at most a cell late', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 10_000_000, windowMs: 1000, jitterMs: inf }];
  for (let i = 0; i < 300_000; i++) lease(store.acquire(input(T + i / 100, { rules, concurrency: inf }))).release(T + i / 100);
  assert.is(store.prune(T + 3000 + 999), 1);
  assert.is(store.prune(T + 3000 + 1000 + 1000 / LOG_CELLS), 0);
});

test('answers like an exact log of every request, or at most a cell later, never earlier, over random sends and rules', () => {
  const random = seeded(5);
  for (const rules of [
    [{ limit: 3, windowMs: 1000, jitterMs: inf }],
    [
      { limit: 5, windowMs: 4000, jitterMs: inf },
      { limit: 1, windowMs: 300, jitterMs: 120 },
    ],
    [{ limit: 200, windowMs: 2000, jitterMs: inf }],
  ]) {
    const store = createMemoryStore();
    const entries = rules.map(() => [] as number[]);
    const held: { lease: Lease; until: number[]; done: number }[] = [];
    const cellOf = (r: StoreRule) => (r.limit > LOG_CELLS ? r.windowMs / LOG_CELLS : 0);
    let now = T;
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(random() * (rules[0]?.limit === 200 ? 20 : 400));
      for (const h of held.filter((x) => x.done <= now)) {
        held.splice(held.indexOf(h), 1);
        h.lease.release(h.done);
        h.until.forEach((u, r) => {
          const log = entries[r] as number[];
          if (h.done < u) log[log.indexOf(u)] = h.done;
        });
      }
      // The reference: the limit-th latest of every entry ever made, plus the window; a bucketed log may be a cell later.
      const exact = rules.map((r, j) => {
        const sorted = [...(entries[j] as number[])].sort((a, b) => a - b);
        return sorted.length < r.limit ? 0 : (sorted[sorted.length - r.limit] as number) + r.windowMs;
      });
      const expected = Math.max(0, ...exact);
      const slack = Math.max(...rules.map(cellOf));
      const result = store.acquire(input(now, { rules, concurrency: inf, leaseMs: 100_000 }));
      const retryAt = result.ok ? 0 : result.retryAt;
      if (expected > now) {
        assert.ok(!result.ok, `step ${i}: let through where an exact log refuses`);
        if (retryAt !== inf) assert.ok(retryAt >= expected && retryAt <= expected + slack, `step ${i}: ${retryAt - expected} ms off`);
      } else if (!result.ok) assert.ok(slack > 0 && retryAt <= now + slack, `step ${i}: refused ${retryAt - now} ms past the exact log`);
      if (result.ok) {
        const until = rules.map((r) => now + Math.min(r.jitterMs, 100_000));
        until.forEach((u, r) => {
          (entries[r] as number[]).push(u);
        });
        held.push({ lease: result, until, done: now + Math.floor(random() * 1500) });
      }
    }
  }
});

test('drops idle keys: prune leaves none once windows, pauses and budgets are over', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  for (let i = 0; i < 1000; i++) lease(store.acquire(input(T, { key: `k${i}`, rules }))).release(T + 10);
  store.pause('paused', T + 120_000, T, rules);
  assert.is(store.prune(T + 60_009), 1001);
  assert.is(store.prune(T + 60_010), 1);
  assert.is(store.prune(T + 180_000), 0);
});

test('a key holding a slot is never dropped', () => {
  const store = createMemoryStore();
  const held = lease(store.acquire(input(T, { rules: [perMinute], leaseMs: 1_000_000 })));
  assert.is(store.prune(T + 500_000), 1);
  held.release(T + 500_000);
  assert.is(store.prune(T + 560_000), 0);
});

test.run();
