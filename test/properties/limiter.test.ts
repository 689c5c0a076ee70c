import { authToken, keyFingerprint } from '@sluice/auth-token';
import { compose, type Interceptor } from '@sluice/core';
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { createMockServer } from '@sluice/mock-server';
import { isQueueFullError, isQueueTimeoutError, rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { heavy, params } from './config.js';
import { runUntil } from './run.js';

const ORIGIN = 'https://api.example';
const MOCK_KEY = 'mock_admin_key_0123456789';
await keyFingerprint(MOCK_KEY);

/** The most times falling in any half-open window `[t, t + windowMs)`. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (j < s.length && (s[j] as number) < (s[i] as number) + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/** One request of a scenario: when it is made, on which endpoint, how long the server takes, and when (if ever) its caller aborts. */
interface Arrival {
  at: number;
  endpoint: number;
  latencyMs: number;
  abortAfterMs: number | undefined;
}
const arrival = (spanMs: number, endpoints: number): fc.Arbitrary<Arrival> =>
  fc.record({
    at: fc.nat({ max: spanMs }),
    endpoint: fc.nat({ max: endpoints - 1 }),
    latencyMs: fc.oneof(fc.constant(0), fc.nat({ max: 2000 })),
    abortAfterMs: fc.option(fc.nat({ max: 4000 }), { nil: undefined, freq: 4 }),
  });

/**
 * What a server sees, measured both ways a server may count: at arrival (send) and when it has answered (or dropped the
 * connection on an abort). Also the peak of requests in flight per endpoint.
 */
function observe(clock: TestClock) {
  const seen = { sends: [] as number[], answers: [] as number[], peak: 0, ids: new Set<string>() };
  const inFlight = new Map<string, number>();
  const wrap =
    (answer: (request: Request) => Promise<Response>) =>
    async (request: Request): Promise<Response> => {
      const endpoint = new URL(request.url).pathname;
      seen.sends.push(clock.now());
      const id = request.headers.get('x-id');
      if (id) seen.ids.add(id);
      const n = (inFlight.get(endpoint) ?? 0) + 1;
      inFlight.set(endpoint, n);
      seen.peak = Math.max(seen.peak, n);
      try {
        return await answer(request);
      } finally {
        seen.answers.push(clock.now());
        inFlight.set(endpoint, (inFlight.get(endpoint) ?? 1) - 1);
      }
    };
  return { seen, wrap };
}

/**
 * Makes each call at its time on the virtual clock, aborts it when the scenario says, runs the clock until nothing is
 * left, and checks that every call settled exactly once: with a response, with its own abort reason, or with a typed
 * queue error for a request that was never sent.
 */
async function drive(
  clock: TestClock,
  api: (url: string, init: RequestInit) => Promise<Response>,
  arrivals: readonly Arrival[],
  urlOf: (a: Arrival, i: number) => string,
  sentIds: Set<string>,
) {
  const t0 = clock.now();
  const settled: number[] = arrivals.map(() => 0);
  const outcomes: unknown[] = [];
  const problems: string[] = [];
  arrivals.forEach((a, i) => {
    const controller = new AbortController();
    const reason = new Error(`abort ${i}`);
    clock.sleep(a.at).then(() => {
      api(urlOf(a, i), { signal: controller.signal, headers: { 'x-id': String(i), 'x-latency': String(a.latencyMs) } }).then(
        (response) => {
          settled[i] = (settled[i] ?? 0) + 1;
          outcomes[i] = response;
          return response.body?.cancel();
        },
        (error) => {
          settled[i] = (settled[i] ?? 0) + 1;
          outcomes[i] = error;
          if (error === reason) {
            if (!controller.signal.aborted) problems.push(`call ${i} rejected with its abort reason before it aborted`);
          } else if (!isQueueFullError(error) && !isQueueTimeoutError(error)) {
            problems.push(`unexpected rejection of call ${i}: ${String(error)}`);
          } else if (sentIds.has(String(i))) {
            problems.push(`call ${i} was sent, then rejected by the queue`);
          }
        },
      );
      if (a.abortAfterMs !== undefined) clock.sleep(a.abortAfterMs).then(() => controller.abort(reason));
    });
  });
  await runUntil(clock, () => settled.every((n) => n > 0));
  assert.equal(
    settled,
    arrivals.map(() => 1),
    'every call settled exactly once',
  );
  assert.equal(problems, []);
  assert.ok(clock.now() - t0 < 10 * 60_000, 'the scenario ended');
  return outcomes;
}

test('rate-limit never lets more than the limit through any window (at send; at answer too with countedAt answer), nor more than the cap in flight', async () => {
  const scenario = fc.record({
    countedAt: fc.constantFrom('arrival' as const, 'answer' as const),
    limit: fc.integer({ min: 1, max: 8 }),
    windowMs: fc.integer({ min: 50, max: 3000 }),
    second: fc.option(fc.record({ limit: fc.integer({ min: 1, max: 12 }), windowMs: fc.integer({ min: 50, max: 6000 }) }), {
      nil: undefined,
    }),
    concurrency: fc.integer({ min: 1, max: 4 }),
    marginMs: fc.nat({ max: 500 }),
    maxQueue: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined, freq: 3 }),
    maxWaitMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined, freq: 3 }),
    arrivals: fc.array(arrival(4000, 3), { minLength: 1, maxLength: 30 }),
  });
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = createTestClock({ flushRounds: 1 });
      const { seen, wrap } = observe(clock);
      const transport = wrap(async (request) => {
        await clock.sleep(Number(request.headers.get('x-latency')), request.signal);
        return new Response('ok');
      });
      const rules = s.second ? [{ limit: s.limit, windowMs: s.windowMs }, s.second] : [{ limit: s.limit, windowMs: s.windowMs }];
      const limiter = rateLimit({
        rules,
        concurrency: s.concurrency,
        marginMs: s.marginMs,
        maxQueue: s.maxQueue,
        maxWaitMs: s.maxWaitMs,
        countedAt: s.countedAt,
      });
      const api = compose([limiter], { fetch: transport, clock });
      const urlOf = (a: Arrival) => `${ORIGIN}/v2/e${a.endpoint}?q=${a.at}`;
      await drive(clock, api, s.arrivals, urlOf, seen.ids);
      for (const r of rules) {
        assert.ok(busiestWindow(seen.sends, r.windowMs) <= r.limit, `over ${r.limit}/${r.windowMs} ms at send`);
        // Dated at arrival, an answered request counts from its answer less what its round trips allow: a server that
        // counts only once it has answered needs countedAt: 'answer'.
        if (s.countedAt === 'answer')
          assert.ok(busiestWindow(seen.answers, r.windowMs) <= r.limit, `over ${r.limit}/${r.windowMs} ms at answer`);
      }
      assert.ok(seen.peak <= s.concurrency, `${seen.peak} in flight on one endpoint, cap ${s.concurrency}`);
      assert.equal(limiter.stats(), { keys: 0, queued: 0 });
      assert.is(clock.pending, 0, 'no timer left');
      await api.close();
    }),
    params,
  );
});

// Servers that make requests wait before they count them, and answer at once after: one worker taking them in order
// (each waits for those before it, counted as its handling starts or as it ends), or a server that, busy with `busyAt`
// requests or more, picks each up `pickupMs` late (an event loop behind). The way there and back takes the same time for
// every request (what the margin assumes: no leg faster than a lone request met). A burst's round trips are long, and
// behind a busy server steady; the margin must not date them before the server counted them. (A fleet's burst can make
// every round trip of one process long: test/rate-limit/scale.test.ts has that case.)
test('rate-limit against a server that makes requests wait before it counts them: no window over the limit where it counts', async () => {
  const scenario = fc.record({
    limit: fc.integer({ min: 1, max: 12 }),
    windowMs: fc.integer({ min: 20, max: 2000 }),
    legMs: fc.nat({ max: 40 }),
    server: fc.oneof(
      fc.record({
        kind: fc.constant('in-order' as const),
        serviceMs: fc.integer({ min: 1, max: 60 }),
        extraMs: fc.nat({ max: 60 }),
        countsWhen: fc.constantFrom('starting' as const, 'done' as const),
      }),
      fc.record({ kind: fc.constant('busy' as const), busyAt: fc.integer({ min: 2, max: 8 }), pickupMs: fc.integer({ min: 1, max: 300 }) }),
    ),
    concurrency: fc.integer({ min: 1, max: 16 }),
    bursts: fc.array(fc.record({ at: fc.nat({ max: 6000 }), size: fc.integer({ min: 1, max: 30 }) }), { minLength: 1, maxLength: 5 }),
    seed: fc.nat(),
  });
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = createTestClock({ flushRounds: 1 });
      const counted: number[] = [];
      let freeAt = Number.NEGATIVE_INFINITY;
      let atServer = 0;
      let draw = s.seed;
      const extra = (most: number) => {
        draw = (draw * 1103515245 + 12345) % 2 ** 31;
        return draw % (most + 1);
      };
      const handle = async () => {
        const server = s.server;
        if (server.kind === 'busy') {
          if (atServer >= server.busyAt) await clock.sleep(server.pickupMs);
          counted.push(clock.now());
          return;
        }
        const service = server.serviceMs + extra(server.extraMs);
        const start = Math.max(clock.now(), freeAt);
        freeAt = start + service;
        await clock.sleep(start - clock.now());
        if (server.countsWhen === 'starting') counted.push(clock.now());
        await clock.sleep(service);
        if (server.countsWhen === 'done') counted.push(clock.now());
      };
      const transport = async () => {
        await clock.sleep(s.legMs);
        atServer++;
        await handle();
        atServer--;
        await clock.sleep(s.legMs);
        return new Response('ok');
      };
      const limiter = rateLimit({ rules: [{ limit: s.limit, windowMs: s.windowMs }], concurrency: s.concurrency });
      const api = compose([limiter], { fetch: transport, clock });
      const arrivals = s.bursts.flatMap(({ at, size }) =>
        Array.from({ length: size }, () => ({ at, endpoint: 0, latencyMs: 0, abortAfterMs: undefined })),
      );
      await drive(clock, api, arrivals, (_, i) => `${ORIGIN}/v2/e?q=${i}`, new Set());
      assert.ok(busiestWindow(counted, s.windowMs) <= s.limit, `over ${s.limit}/${s.windowMs} ms where the server counts`);
      await api.close();
    }),
    heavy,
  );
});

/** A scenario of sliding-log 2 a window, one call at a time per endpoint, 1 s tokens, calls made at once. */
const scenarioOf = (windowMs: number, latency: { min: number; extra: number }, endpoints: number[], at = 0) => ({
  algorithm: 'sliding-log' as const,
  limit: 2,
  windowMs,
  concurrency: 1,
  latency,
  tokenTtlMs: 1000,
  arrivals: endpoints.map((endpoint) => ({ at, endpoint, latencyMs: 0, abortAfterMs: undefined })),
});

test('the whole pipeline against the simulator gets no 429, stays within its limits and settles every call', async () => {
  const scenario = fc.record({
    algorithm: fc.constantFrom('sliding-log' as const, 'fixed-window' as const),
    limit: fc.integer({ min: 2, max: 10 }),
    windowMs: fc.integer({ min: 200, max: 3000 }),
    concurrency: fc.integer({ min: 1, max: 3 }),
    latency: fc.record({ min: fc.nat({ max: 200 }), extra: fc.nat({ max: 1500 }) }),
    // Short-lived tokens make refreshes (counted and queued like any request) happen while calls wait.
    tokenTtlMs: fc.option(fc.integer({ min: 1000, max: 20_000 }), { nil: undefined }),
    arrivals: fc.array(arrival(5000, 3), { minLength: 1, maxLength: 25 }),
  });
  const paths = ['/v2/event-details?ids=evt_1', '/v2/event-details/evt_2', '/v2/admin/api-keys'];
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = createTestClock({ flushRounds: 1 });
      const server = createMockServer({
        clock,
        algorithm: s.algorithm,
        limit: s.limit,
        windowMs: s.windowMs,
        concurrency: s.concurrency,
        latencyMs: { min: s.latency.min, max: s.latency.min + s.latency.extra },
        incidents: 0,
        tokenTtlMs: s.tokenTtlMs,
      });
      const { seen, wrap } = observe(clock);
      const limiter = rateLimit({ rules: [{ limit: s.limit, windowMs: s.windowMs }], concurrency: s.concurrency });
      const pipeline: Interceptor[] = [retry429({ random: () => 0.5 }), authToken({ apiKey: MOCK_KEY, baseUrl: ORIGIN }), limiter];
      const api = compose(pipeline, { fetch: wrap(server.handler), clock });
      const outcomes = await drive(clock, api, s.arrivals, (a) => `${ORIGIN}${paths[a.endpoint]}`, seen.ids);
      const stats = server.stats();
      assert.is(stats.rateLimited, 0, `the simulator answered 429 ${stats.rateLimited} times`);
      // A token that cannot outlive a wait for the next window plus an answer may expire however early it is renewed:
      // a call then waits for at most two new tokens before it goes as it is, and may get a 401.
      const slowest = s.latency.min + s.latency.extra;
      const outlives = s.tokenTtlMs === undefined || s.tokenTtlMs > s.windowMs + slowest;
      if (outlives) assert.is(stats.byStatus['401'] ?? 0, 0, 'no expired or unknown token was sent');
      assert.ok(busiestWindow(seen.sends, s.windowMs) <= s.limit);
      assert.ok(seen.peak <= s.concurrency);
      for (const o of outcomes) if (o instanceof Response) assert.ok(o.status === 200 || (!outlives && o.status === 401));
      assert.equal(limiter.stats(), { keys: 0, queued: 0 });
      await api.close();
      assert.is(clock.pending, 0, 'no timer left');
    }),
    {
      ...heavy,
      examples: [
        // Found by this property in CI: two calls took the window's last slots with an expired token, and held them
        // while the exchange they waited for needed one (until their lease ended, 300 s later).
        [scenarioOf(200, { min: 0, extra: 0 }, [0, 1, 0])],
        // Found while fixing it: tokens that expire on arrival (the exchange takes their whole life) and a wait longer
        // than their life, where calls that gave their slot back waited for new tokens over and over.
        [scenarioOf(200, { min: 0, extra: 0 }, [0, 0, 0, 0])],
        [scenarioOf(1795, { min: 180, extra: 1308 }, [0, 0], 105)],
      ],
    },
  );
});

test('a call held in the queue past its token expiry is sent with a fresh token, not the expired one', async () => {
  const clock = createTestClock();
  const issued = new Map<string, number>();
  const sentWith: { token: string; expired: boolean }[] = [];
  const transport = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === '/v2/auth/token/access') {
      const token = `tok-${issued.size + 1}`;
      issued.set(token, clock.now() + 2000);
      return new Response(JSON.stringify({ access_token: token, expires_in: 2 }));
    }
    const token = request.headers.get('authorization')?.slice(7) ?? '';
    const expired = clock.now() >= (issued.get(token) ?? 0);
    sentWith.push({ token, expired });
    if (request.url.endsWith('?slow')) await clock.sleep(5000);
    return new Response('ok', { status: expired ? 401 : 200 });
  };
  // One call at a time per endpoint: the second call gets its token at once, then waits 5 s for the first one's slot.
  const api = compose([authToken({ apiKey: MOCK_KEY, baseUrl: ORIGIN }), rateLimit({ concurrency: 1 })], {
    fetch: transport,
    clock,
  });
  const first = api(`${ORIGIN}/v2/items?slow`);
  await clock.flush();
  const second = api(`${ORIGIN}/v2/items`);
  await clock.advance(10_000);
  assert.equal([(await first).status, (await second).status], [200, 200]);
  assert.equal(
    sentWith.map((s) => s.expired),
    [false, false],
    'no request left with an expired token',
  );
  await api.close();
});

test.run();
