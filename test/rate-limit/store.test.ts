import { type AcquireInput, createMemoryStore, type Lease, type StoreRule } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

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
