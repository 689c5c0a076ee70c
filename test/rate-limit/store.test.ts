import { type AcquireInput, createMemoryStore, type Lease, type StoreRule } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seeded } from './models.js';

const T = Date.UTC(2026, 0, 1);
const perMinute: StoreRule = { limit: 60, windowMs: 60_000, jitterMs: Number.POSITIVE_INFINITY };
const input = (now: number, more: Partial<AcquireInput> = {}): AcquireInput => ({
  key: 'k',
  endpoint: '/v2/items',
  now,
  rules: [{ limit: 2, windowMs: 1000, jitterMs: Number.POSITIVE_INFINITY }],
  concurrency: 5,
  leaseMs: 300_000,
  ...more,
});
const lease = (result: unknown) => {
  assert.ok((result as Lease).ok, 'expected a slot');
  return result as Lease;
};

test('counts a request from its response, so the rule frees a full window after the response', () => {
  const store = createMemoryStore();
  lease(store.acquire(input(T))).release(T + 300);
  lease(store.acquire(input(T + 10))).release(T + 400);
  assert.equal(store.acquire(input(T + 500)), { ok: false, retryAt: T + 1300 });
  assert.ok(store.acquire(input(T + 1300)).ok);
});

test('a request released at -Infinity was never sent: its slot and its place in the log are free at once', () => {
  const store = createMemoryStore();
  const one = { concurrency: 1, rules: [{ limit: 1, windowMs: 1000, jitterMs: Number.POSITIVE_INFINITY }] };
  const held = lease(store.acquire(input(T, one)));
  assert.is(store.acquire(input(T + 10, one)).ok, false);
  held.release(Number.NEGATIVE_INFINITY);
  lease(store.acquire(input(T + 10, one))).release(T + 20);
  assert.equal(store.acquire(input(T + 30, one)), { ok: false, retryAt: T + 1020 }, 'the one sent still counts');
});

test('a bucket does not fold in a request released at -Infinity', () => {
  const store = createMemoryStore();
  const bucket = { concurrency: 5, rules: [{ limit: 1, windowMs: 1000, burst: 2, jitterMs: Number.POSITIVE_INFINITY }] };
  lease(store.acquire(input(T, bucket))).release(T);
  lease(store.acquire(input(T + 5, bucket))).release(Number.NEGATIVE_INFINITY);
  lease(store.acquire(input(T + 10, bucket))).release(T + 10);
  assert.equal(store.acquire(input(T + 20, bucket)), { ok: false, retryAt: T + 1000 }, 'the burst of 2 went to the two sent');
});

test('counts a request still in flight until it is released', () => {
  const store = createMemoryStore();
  lease(store.acquire(input(T)));
  lease(store.acquire(input(T)));
  const blocked = store.acquire(input(T + 5000));
  assert.is(blocked.ok, false);
});

test('with jitterMs, counts from the send plus jitterMs when the response comes later', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 1000, jitterMs: 50 }];
  lease(store.acquire(input(T, { rules }))).release(T + 800);
  assert.equal(store.acquire(input(T + 900, { rules })), { ok: false, retryAt: T + 1050 });
});

test('every rule holds at once', () => {
  const store = createMemoryStore();
  const rules = [perMinute, { limit: 1, windowMs: 1000, jitterMs: Number.POSITIVE_INFINITY }];
  let now = T;
  for (let i = 0; i < 60; i++) {
    const result = store.acquire(input(now, { rules }));
    if (!result.ok) {
      now = result.retryAt;
      i--;
      continue;
    }
    result.release(now);
  }
  assert.is(now, T + 59_000, 'the second rule spaces requests one second apart');
  assert.equal(store.acquire(input(now + 500, { rules })), { ok: false, retryAt: T + 60_000 });
});

test('holds at most `concurrency` slots per endpoint, and other endpoints are free', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  for (let i = 0; i < 5; i++) lease(store.acquire(input(T, { rules })));
  assert.equal(store.acquire(input(T, { rules })), { ok: false, retryAt: T + 300_000 });
  assert.ok(store.acquire(input(T, { rules, endpoint: '/v2/other' })).ok);
});

test('a released slot is free from the time given, so a failed request can keep it a while', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  lease(store.acquire(input(T, { rules, concurrency: 1 }))).release(T + 1100);
  assert.equal(store.acquire(input(T + 100, { rules, concurrency: 1 })), { ok: false, retryAt: T + 1100 });
  assert.ok(store.acquire(input(T + 1100, { rules, concurrency: 1 })).ok);
});

test('counts only the slots still held when some of the endpoint are freed', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const first = lease(store.acquire(input(T, { rules, concurrency: 2 })));
  lease(store.acquire(input(T, { rules, concurrency: 2 })));
  first.release(T + 10);
  assert.ok(store.acquire(input(T + 20, { rules, concurrency: 2 })).ok);
  assert.equal(store.acquire(input(T + 20, { rules, concurrency: 2 })), { ok: false, retryAt: T + 300_000 });
});

test('takes back a slot that was not released after leaseMs', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  lease(store.acquire(input(T, { rules, concurrency: 1, leaseMs: 10_000 })));
  assert.is(store.acquire(input(T + 9999, { rules, concurrency: 1, leaseMs: 10_000 })).ok, false);
  assert.ok(store.acquire(input(T + 10_000, { rules, concurrency: 1, leaseMs: 10_000 })).ok);
});

test('plans no more than the server said remain, less what was sent since', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const first = lease(store.acquire(input(T, { rules })));
  lease(store.acquire(input(T, { rules })));
  store.sync('k', first.seq, T + 100, 3, T + 30_000);
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.equal(store.acquire(input(T + 100, { rules })), { ok: false, retryAt: T + 30_000 });
  assert.ok(store.acquire(input(T + 30_000, { rules })).ok);
});

test('ignores a response older than the one the budget came from', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const first = lease(store.acquire(input(T, { rules })));
  const second = lease(store.acquire(input(T, { rules })));
  store.sync('k', second.seq, T + 50, 1, T + 30_000);
  store.sync('k', first.seq, T + 60, 40, T + 30_000);
  assert.ok(store.acquire(input(T + 100, { rules })).ok);
  assert.is(store.acquire(input(T + 100, { rules })).ok, false);
});

test('after a pause lets one request go, and the rest once a response to it arrives', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  assert.is(store.pause('k', T + 5000, T, rules, false), T + 5000);
  assert.equal(store.acquire(input(T, { rules })), { ok: false, retryAt: T + 5000 });
  const probe = lease(store.acquire(input(T + 5000, { rules })));
  assert.is(store.acquire(input(T + 5000, { rules })).ok, false);
  store.sync('k', probe.seq, T + 5200);
  assert.ok(store.acquire(input(T + 5200, { rules })).ok);
});

test('a pause lasts at least until the reset of a budget the server said is spent', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  const sent = lease(store.acquire(input(T, { rules })));
  store.sync('k', sent.seq, T + 100, 0, T + 30_000);
  assert.is(store.pause('k', T + 1100, T + 100, rules, true), T + 30_000);
});

test('a pause during a probe does not last to the end of the probe', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  store.pause('k', T + 1000, T, rules, false);
  lease(store.acquire(input(T + 1000, { rules })));
  assert.is(store.pause('k', T + 3000, T + 1500, rules, true), T + 3000);
});

test('skips a remaining-0 pause that the log already enforces', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 1, windowMs: 60_000, jitterMs: Number.POSITIVE_INFINITY }];
  lease(store.acquire(input(T, { rules }))).release(T + 100);
  assert.is(store.pause('k', T + 60_000, T + 100, rules, false), 0);
  assert.is(store.pause('k', T + 62_000, T + 100, rules, false), T + 62_000);
});

test('a refused pause assumes the server full: afterwards one request per windowMs / limit', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 4, windowMs: 4000, jitterMs: Number.POSITIVE_INFINITY }];
  assert.is(store.pause('k', T + 10_000, T, rules, true), T + 10_000);
  assert.is(store.pause('k', T + 10_000, T, rules, true), 0, 'the same pause again changes nothing');
  const sends: number[] = [];
  let now = T;
  while (sends.length < 4) {
    const result = store.acquire(input(now, { rules }));
    if (result.ok) {
      sends.push(now - T);
      result.release(now);
      store.sync('k', result.seq, now);
    } else now = result.retryAt;
  }
  assert.equal(sends, [10_000, 11_000, 12_000, 13_000]);
});

const bucket = (burst: number, limit: number, windowMs: number, jitterMs = Number.POSITIVE_INFINITY): StoreRule[] => [
  { limit, windowMs, jitterMs, burst },
];

test('a bucket rule lets its burst go at once, then one per windowMs / limit after the answers', () => {
  const store = createMemoryStore();
  const rules = bucket(3, 1, 1000);
  for (let i = 0; i < 3; i++) lease(store.acquire(input(T, { rules }))).release(T + 100);
  assert.equal(store.acquire(input(T + 100, { rules })), { ok: false, retryAt: T + 1100 });
  lease(store.acquire(input(T + 1100, { rules }))).release(T + 1200);
  assert.equal(
    store.acquire(input(T + 1200, { rules })),
    { ok: false, retryAt: T + 2100 },
    'the bucket refills at its rate, not per window',
  );
});

test('a bucket rule counts a request in flight as counted now, so its burst never grows', () => {
  const store = createMemoryStore();
  const rules = bucket(2, 1, 1000);
  lease(store.acquire(input(T, { rules })));
  const second = lease(store.acquire(input(T + 500, { rules })));
  assert.equal(store.acquire(input(T + 5000, { rules })), { ok: false, retryAt: T + 300_000 + 1000 }, 'two in flight fill a burst of two');
  second.release(T + 5000);
  assert.equal(store.acquire(input(T + 5000, { rules })), { ok: false, retryAt: T + 6000 });
});

test('a bucket rule with jitterMs pays the jitter once, not per request', () => {
  const store = createMemoryStore();
  const rules = bucket(2, 10, 1000, 3);
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

test('a refused pause empties the bucket: after it one request, then one per windowMs / limit', () => {
  const store = createMemoryStore();
  const rules = bucket(4, 4, 4000);
  assert.is(store.pause('k', T + 10_000, T, rules, true), T + 10_000);
  const sends: number[] = [];
  let now = T;
  while (sends.length < 4) {
    const result = store.acquire(input(now, { rules }));
    if (result.ok) {
      sends.push(now - T);
      result.release(now);
      store.sync('k', result.seq, now);
    } else now = result.retryAt;
  }
  assert.equal(sends, [10_000, 11_000, 12_000, 13_000]);
});

test('a bucket key is idle, and dropped, once its bucket is full again', () => {
  const store = createMemoryStore();
  const rules = bucket(2, 1, 1000);
  for (let i = 0; i < 2; i++) lease(store.acquire(input(T, { rules }))).release(T);
  assert.is(store.prune(T + 1999), 1);
  assert.is(store.prune(T + 2000), 0);
});

test('a late answer to a send from a dropped state does not widen the new budget', () => {
  const store = createMemoryStore();
  const rules = [perMinute];
  // Four sends whose leases run out, other keys' traffic, and the key idle long enough to be dropped.
  let old = lease(store.acquire(input(T, { rules, leaseMs: 1000 })));
  for (let i = 0; i < 3; i++) old = lease(store.acquire(input(T, { rules, leaseMs: 1000 })));
  for (let i = 0; i < 10; i++) lease(store.acquire(input(T, { key: `other${i}`, rules }))).release(T);
  assert.is(store.prune(T + 120_000), 0);
  const fresh = lease(store.acquire(input(T + 120_000, { rules })));
  lease(store.acquire(input(T + 120_000, { rules })));
  assert.ok(fresh.seq > old.seq, 'numbers are not reused');
  store.sync('k', fresh.seq, T + 120_001, 1, T + 150_000);
  assert.equal(store.acquire(input(T + 120_001, { rules })), { ok: false, retryAt: T + 150_000 }, 'of 1 left, the 2 sent since took it');
  store.sync('k', old.seq, T + 120_002, 5, T + 150_000);
  assert.equal(store.acquire(input(T + 120_002, { rules })), { ok: false, retryAt: T + 150_000 }, 'the stale answer is ignored');
});

test('a log keeps only the entries within its window: a huge limit costs nothing per request', () => {
  const store = createMemoryStore();
  const rules = [{ limit: 10_000_000, windowMs: 1000, jitterMs: Number.POSITIVE_INFINITY }];
  for (let i = 0; i < 300_000; i++)
    lease(store.acquire(input(T + i / 100, { rules, concurrency: Number.POSITIVE_INFINITY }))).release(T + i / 100);
  assert.is(store.prune(T + 3000 + 999), 1);
  assert.is(store.prune(T + 3000 + 1000), 0);
});

test('answers like a log that keeps every entry, over random sends, answers, pauses and rules', () => {
  const random = seeded(5);
  for (const rules of [
    [{ limit: 3, windowMs: 1000, jitterMs: Number.POSITIVE_INFINITY }],
    [
      { limit: 5, windowMs: 4000, jitterMs: Number.POSITIVE_INFINITY },
      { limit: 1, windowMs: 300, jitterMs: 120 },
    ],
  ]) {
    const store = createMemoryStore();
    const entries = rules.map(() => [] as number[]);
    const held: { lease: Lease; until: number[]; done: number }[] = [];
    let now = T;
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(random() * 400);
      for (const h of held.filter((x) => x.done <= now)) {
        held.splice(held.indexOf(h), 1);
        h.lease.release(h.done);
        h.until.forEach((u, r) => {
          const log = entries[r] as number[];
          if (h.done < u) log[log.indexOf(u)] = h.done;
        });
      }
      // The reference: the limit-th latest of every entry ever made, plus the window.
      const expected = Math.max(
        0,
        ...rules.map((r, j) => {
          const sorted = [...(entries[j] as number[])].sort((a, b) => a - b);
          return sorted.length < r.limit ? 0 : (sorted[sorted.length - r.limit] as number) + r.windowMs;
        }),
      );
      const result = store.acquire(input(now, { rules, concurrency: Number.POSITIVE_INFINITY, leaseMs: 100_000 }));
      assert.is(result.ok ? 0 : result.retryAt, expected > now ? expected : 0, `step ${i}`);
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
  store.pause('paused', T + 120_000, T, rules, true);
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
