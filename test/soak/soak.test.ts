import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { authToken } from '@sluice/auth-token';
import { compose, createBus, type EventBus } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { cyberhavenDefaults } from '@sluice/cyberhaven';
import { errorMap, isRateLimitError } from '@sluice/error-map';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { createMemoryStore, rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const BASE = 'https://acme.cyberhaven.io';
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Simulated hours; SLUICE_SOAK_HOURS shortens or lengthens the run. */
const HOURS = Number(process.env.SLUICE_SOAK_HOURS ?? 24);

// A full collection between the samples, when the flag can be set at runtime (Node can: V8 reads it lazily).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
/** Whether the secret audit (test/audit/preload.ts) collects this run's events. */
const audited = Symbol.for('sluice.audit') in globalThis;

/** A bus that counts live subscriptions, so a listener left behind by a request shows. */
function countingBus(): EventBus & { readonly listeners: number } {
  const bus = createBus();
  let listeners = 0;
  return {
    ...bus,
    on(type: never, listener: never) {
      listeners++;
      const off = bus.on(type, listener);
      let on = true;
      return () => {
        if (on) listeners--;
        on = false;
        off();
      };
    },
    get listeners() {
      return listeners;
    },
  } as EventBus & { readonly listeners: number };
}

/** Mulberry32: the load's shape is the same on every run. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const heapMb = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1048576;
};

test(`${HOURS} simulated hours of steady load with token refreshes and 429 storms leave nothing behind`, async () => {
  const clock = createTestClock({ now: Date.UTC(2026, 10, 27, 0, 0, 0) });
  const server = createMockServer({
    clock,
    latencyMs: { min: 20, max: 400 },
    incidents: 10,
    // A 50-second 429 storm every two hours, on top of the usual 60 a minute per key and 5 in flight per endpoint.
    faults: { storm: { everyMs: 2 * HOUR, durationMs: 50_000 } },
  });
  // Checks, as each request leaves, that its token (a JWT whose `exp` the simulator sets) has not expired.
  const sent = { calls: 0, expired: 0 };
  const send = (request: Request) => {
    const token = request.headers.get('authorization')?.split(' ')[1];
    if (token) {
      sent.calls++;
      const { exp } = JSON.parse(atob((token.split('.')[1] as string).replace(/-/g, '+').replace(/_/g, '/')));
      if (clock.now() >= exp * 1000) sent.expired++;
    }
    return server.handler(request);
  };
  const bus = countingBus();
  const store = createMemoryStore();
  const limiter = rateLimit({ ...cyberhavenDefaults.rateLimit, store });
  const api = compose([errorMap(), retry429({ random: prng(7) }), authToken({ apiKey: demoKeys[0]!.key, baseUrl: BASE }), limiter], {
    fetch: send,
    clock,
    bus,
  });
  const seen = { acquired: 0, stormRetries: 0 };
  bus.on('auth:token-acquired', () => void seen.acquired++);
  bus.on('retry:scheduled', () => void seen.stormRetries++);
  const baseline = bus.listeners;

  const random = prng(42);
  const outcome = { made: 0, ok: 0, rateLimited: 0, other: [] as unknown[] };
  const paths = ['/v2/event-details?ids=evt_1', '/v2/event-details/evt_2,evt_3', '/v2/admin/api-keys'];
  const call = (i: number) => {
    outcome.made++;
    api(`${BASE}${paths[i % paths.length]}`).then(
      (response) => {
        if (response.status === 200) outcome.ok++;
        else outcome.other.push(response.status);
        return response.body?.cancel();
      },
      (error) => {
        if (isRateLimitError(error)) outcome.rateLimited++;
        else outcome.other.push(error);
      },
    );
  };
  const settled = () => outcome.ok + outcome.rateLimited + outcome.other.length;

  // Load planned a minute at a time: 6 to 14 calls spread over the minute, and every hour a burst of 90 more at once,
  // over the 60 a minute allowed, that has to queue for a while; every other burst lands in a storm.
  let heapAfterWarmUp: number | undefined;
  for (let minute = 0; minute < HOURS * 60; minute++) {
    const steady = 6 + Math.floor(random() * 9);
    for (let i = 0; i < steady; i++) clock.sleep(Math.floor(random() * MINUTE)).then(() => call(i));
    if (minute % 60 === 59) for (let i = 0; i < 90; i++) call(i);
    await clock.advance(MINUTE);
    if (minute === 59) heapAfterWarmUp = heapMb();
  }
  // Drain: the last burst and any retry finish within a few minutes.
  for (let i = 0; i < 10 && settled() < outcome.made; i++) await clock.advance(MINUTE);

  assert.is(settled(), outcome.made, 'every call settled');
  assert.equal(outcome.other, [], 'nothing but 200s and mapped 429s');
  const stats = server.stats();
  assert.is(sent.expired, 0, `${sent.expired} of ${sent.calls} requests left with an expired token`);
  assert.is(stats.unauthorized.expired, 0, 'no expired token reached the simulator');
  assert.is(stats.byStatus['401'] ?? 0, 0, 'no 401 at all');
  assert.is(stats.rateLimitedBy.rate + stats.rateLimitedBy.concurrency, 0, 'the only 429s were the storms');
  assert.ok(stats.tokenExchanges >= HOURS * 4 && stats.tokenExchanges <= HOURS * 6, `${stats.tokenExchanges} token exchanges`);
  assert.is(stats.inFlight, 0);

  // Back to baseline: listeners, queues, timers; the store forgets the key once its windows and pauses are over.
  assert.is(bus.listeners, baseline, 'no listener left behind');
  // Nothing waits; what the limiter learnt of the one key (the documented rule, confirmed) is all it keeps.
  const { keys, queued, policies } = limiter.stats();
  assert.equal({ keys, queued }, { keys: 0, queued: 0 });
  assert.equal(Object.values(policies ?? {}), [{ source: 'documented', rules: [{ limit: 60, windowMs: 60_000 }] }]);
  await clock.advance(2 * MINUTE);
  assert.is(clock.pending, 0, 'no timer left');
  assert.is(store.prune(clock.now()), 0, 'the rate-limit store holds no key');
  // The secret audit keeps every event's text and the errors it has not read yet: under it the heap measures the audit.
  // test/all.mjs runs this suite once more without it, for this check.
  const growth = heapMb() - (heapAfterWarmUp ?? 0);
  if (gc && heapAfterWarmUp !== undefined && !audited)
    assert.ok(growth < 4, `heap grew ${growth.toFixed(1)} MB over ${HOURS - 1} simulated hours`);
  await api.close();
  assert.is(bus.listeners, baseline - 1, "close() dropped rate-limit's listener; only the test's own remain");
  if (process.env.SLUICE_SOAK_REPORT === '1') {
    const heap = gc ? `${growth.toFixed(2)} MB after gc` : 'not measured (no gc)';
    console.log({
      ...outcome,
      other: outcome.other.length,
      exchanges: stats.tokenExchanges,
      storms429: stats.rateLimitedBy.storm,
      ...seen,
      heap,
    });
  }
});

test.run();
