// The cases issue 17 measured against servers at other scales than the reference's, on the virtual clock: each used to
// hold the zero 429s but waste a third of the time or more.
import { authToken, keyFingerprint } from '@sluice/auth-token';
import { compose, type SluiceEvents } from '@sluice/core';
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { createMemoryStore, type RateLimitOptions, rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from '../helpers/index.js';
import { createServer, minimumCompletion, type ServerModel, seeded } from './models.js';

const ORIGIN = 'https://api.example';
const KEY = 'sk_test_scale_0123456789';
// The key's fingerprint comes from crypto.subtle, off the virtual clock: taken once here, it is remembered.
await keyFingerprint(KEY);

/** Sends `count` requests at once over `endpoints` paths; resolves with the last answer's time, from the first send. */
async function burst(clock: TestClock, api: (url: string) => Promise<Response>, count: number, endpoints = 3) {
  const t0 = clock.now();
  let last = t0;
  const statuses: number[] = [];
  const calls = Array.from({ length: count }, (_, i) =>
    api(`${ORIGIN}/v2/e${i % endpoints}`).then((r) => {
      statuses.push(r.status);
      last = Math.max(last, clock.now());
    }),
  );
  // drive, not runAll: it waits out work off the virtual clock (the secret audit's, crypto.subtle's) in real time.
  await drive(clock, Promise.all(calls), { stepMs: 50 });
  return { tookMs: last - t0, refused: statuses.filter((s) => s === 429).length };
}

function strictServer(clock: TestClock, headers: boolean): ServerModel {
  return createServer({ clock, counting: 'sliding', random: seeded(17), limit: 20, windowMs: 2000, latency: [25, 75], headers });
}

for (const headers of [true, false]) {
  test(`a strict sliding log of 20 per 2 s ${headers ? 'with whole-second X-RateLimit headers' : 'without headers'}: 300 requests at once, no 429, within 10% of the least time`, async () => {
    const clock = createTestClock();
    const server = strictServer(clock, headers);
    const api = compose([rateLimit({ rules: [{ limit: 20, windowMs: 2000 }] })], { fetch: server.fetch, clock });
    const run = await burst(clock, api, 300);
    const minimum = minimumCompletion('sliding', Array(300).fill(0), 20, 2000, 25) + 25;
    if (process.env.RATE_LIMIT_REPORT) console.log(headers, run.tookMs, minimum, run.tookMs / minimum);
    assert.is(server.refused, 0);
    assert.ok(run.tookMs <= minimum * 1.1, `took ${run.tookMs} ms, least ${minimum} ms (${(run.tookMs / minimum).toFixed(3)}x)`);
    await api.close();
  });
}

test('the reset rounded up to whole seconds does not hold the key when the log explains what the server counted', async () => {
  const clock = createTestClock();
  const server = strictServer(clock, true);
  const api = compose([rateLimit({ rules: [{ limit: 20, windowMs: 2000 }] })], { fetch: server.fetch, clock });
  const paused: SluiceEvents['rate-limit:paused'][] = [];
  api.events.on('rate-limit:paused', (e) => paused.push(e));
  await burst(clock, api, 60);
  // Sends went as the log freed them, the second window within 2.2 s of the first send (not locked onto whole seconds).
  const second = server.arrivals.slice(20, 40);
  assert.ok(
    (second[0] as number) - (server.arrivals[0] as number) < 2200,
    `the 21st arrived ${(second[0] as number) - (server.arrivals[0] as number)} ms after the first`,
  );
  assert.equal(paused, [], "no pause: remaining 0 was the key's own doing");
  await api.close();
});

/**
 * A fixed-window rate-limit middleware as Node web frameworks have them: each key's window starts at its first counted
 * request, the token route is not counted, and quota headers go on counted answers only.
 */
function middleware(clock: TestClock, limit: number, windowMs: number) {
  let windowEnd = 0;
  let used = 0;
  const server = { refused: 0, exchanges: 0 };
  const fetch = async (request: Request) => {
    await clock.sleep(20);
    const now = clock.now();
    if (new URL(request.url).pathname === '/v2/auth/token/access') {
      server.exchanges++;
      await clock.sleep(20);
      return new Response(JSON.stringify({ access_token: `tok_${server.exchanges}`, expires_in: 900 }));
    }
    if (now >= windowEnd) [windowEnd, used] = [now + windowMs, 0];
    const ok = used < limit;
    if (ok) used++;
    else server.refused++;
    const headers = {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(limit - used),
      'ratelimit-reset': String(Math.ceil((windowEnd - now) / 1000)),
    };
    await clock.sleep(20);
    return new Response(ok ? '{}' : 'slow down', { status: ok ? 200 : 429, headers });
  };
  return { server, fetch };
}

test('a server that does not count the token exchange: 120 requests at 60 per 10 s take two windows, not three', async () => {
  const clock = createTestClock();
  const { server, fetch } = middleware(clock, 60, 10_000);
  const limiter = rateLimit({ rules: [{ limit: 60, windowMs: 10_000 }], store: createMemoryStore() });
  const api = compose([authToken({ apiKey: KEY, baseUrl: ORIGIN }), limiter], { fetch, clock });
  const learned: SluiceEvents['rate-limit:learned'][] = [];
  api.events.on('rate-limit:learned', (e) => learned.push(e));
  const run = await burst(clock, api, 120);
  assert.is(server.refused, 0);
  assert.is(server.exchanges, 1);
  assert.ok(run.tookMs < 10_000 + 500, `took ${run.tookMs} ms: the second 60 went when the first window ended`);
  assert.equal(
    learned.map((e) => e.tokenExchangeCounted),
    [false],
  );
  await api.close();
});

test('a spacing rule of one per 100 ms against a gateway that counts on arrival goes about every 100 ms plus half a steady round trip', async () => {
  const clock = createTestClock();
  const arrivals: number[] = [];
  let refused = 0;
  // nginx limit_req without burst, 1 ms away, in front of an upstream that answers in 20 ms.
  const fetch = async () => {
    await clock.sleep(1);
    const now = clock.now();
    const ok = arrivals.length === 0 || now - (arrivals[arrivals.length - 1] as number) >= 100;
    if (ok) arrivals.push(now);
    else refused++;
    await clock.sleep(ok ? 21 : 1);
    return new Response(null, { status: ok ? 200 : 429 });
  };
  const options: RateLimitOptions = { rules: [{ limit: 1, windowMs: 100 }], concurrency: 5 };
  const api = compose([rateLimit(options)], { fetch, clock });
  const run = await burst(clock, api, 60, 1);
  assert.is(refused, 0);
  // Counted from the answer it would be 100 + 22 ms per request; the margin learnt from the steady 22 ms round trips is 11.
  if (process.env.RATE_LIMIT_REPORT) console.log('spacing', run.tookMs);
  assert.ok(run.tookMs <= 60 * 112 + 30, `took ${run.tookMs} ms for 60`);
  await api.close();
});

// The fleet bench's reference cell saw a 429 in about one run of five: the simulator, busy with the first burst of four
// processes, counted each request some 100 ms after it came, and answered at once. Round trips of a steady 100 ms gave
// a margin of 50, so the burst was dated half a round trip before the server counted it; the next window's first
// requests reached an idle server that soon. Round trips of requests sent with others of the key in flight can wait in
// a queue the key made itself: only those sent alone teach the margin.
test('a server that queues a burst before counting it: the next window waits for what it counted, not half a round trip less', async () => {
  const clock = createTestClock();
  const t0 = clock.now();
  const counted: number[] = [];
  let refused = 0;
  // A sliding log of 10 per second, 1 ms away; busy for its first second: each request waits 100 ms before it is counted.
  const fetch = async () => {
    await clock.sleep(1);
    if (clock.now() - t0 < 1000) await clock.sleep(100);
    const now = clock.now();
    const ok = counted.filter((at) => at > now - 1000).length < 10;
    if (ok) counted.push(now);
    else refused++;
    await clock.sleep(1);
    return new Response(null, { status: ok ? 200 : 429 });
  };
  const api = compose([rateLimit({ rules: [{ limit: 10, windowMs: 1000 }], concurrency: 10 })], { fetch, clock });
  const run = await burst(clock, api, 30, 1);
  assert.is(refused, 0);
  assert.is(run.refused, 0);
  await api.close();
});

test('a 429 with Retry-After: 1 on rules of 60 a minute and 1,000 a day: the next five go at 1, 2, 3, 4 and 5 s', async () => {
  const clock = createTestClock();
  const t0 = clock.now();
  const sent: number[] = [];
  const fetch = async () => {
    sent.push(clock.now() - t0);
    return sent.length === 1 ? new Response(null, { status: 429, headers: { 'retry-after': '1' } }) : new Response(null);
  };
  const api = compose(
    [
      rateLimit({
        rules: [
          { limit: 60, windowMs: 60_000 },
          { limit: 1000, windowMs: 86_400_000 },
        ],
      }),
    ],
    { fetch, clock },
  );
  await api(`${ORIGIN}/v2/a`);
  const calls = Array.from({ length: 5 }, () => api(`${ORIGIN}/v2/a`));
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent, [0, 1000, 2000, 3000, 4000, 5000]);
  await api.close();
});

test('a bare 429 on rules of 60 a minute and 1,000 a day pauses the minute, not the day, and the next go at 1 s apart', async () => {
  const clock = createTestClock();
  const t0 = clock.now();
  const sent: number[] = [];
  const paused: number[] = [];
  const fetch = async () => {
    sent.push(clock.now() - t0);
    return sent.length === 1 ? new Response(null, { status: 429 }) : new Response(null);
  };
  const rules = [
    { limit: 60, windowMs: 60_000 },
    { limit: 1000, windowMs: 86_400_000 },
  ];
  const api = compose([rateLimit({ rules })], { fetch, clock });
  api.events.on('rate-limit:paused', (e) => paused.push(e.delayMs));
  await api(`${ORIGIN}/v2/a`);
  const calls = Array.from({ length: 3 }, () => api(`${ORIGIN}/v2/a`));
  await clock.runAll();
  await Promise.all(calls);
  // The server said some limit is full, not which, nor for how long: the shortest window's, as the minute's rule is taken to be full.
  assert.equal(paused, [60_000]);
  assert.equal(sent, [0, 60_000, 61_000, 62_000]);
  await api.close();
});

test('a 429 on a rule of ten million a day costs a few entries of state, and the key goes on at the rule rate', async () => {
  const clock = createTestClock();
  const t0 = clock.now();
  const store = createMemoryStore();
  const sent: number[] = [];
  const fetch = async () => {
    sent.push(clock.now() - t0);
    return sent.length === 1 ? new Response(null, { status: 429, headers: { 'retry-after': '1' } }) : new Response(null);
  };
  const api = compose([rateLimit({ rules: [{ limit: 10_000_000, windowMs: 86_400_000 }], store, concurrency: 100 })], { fetch, clock });
  await api(`${ORIGIN}/v2/a`);
  const calls = Array.from({ length: 200 }, () => api(`${ORIGIN}/v2/a`));
  await clock.runAll();
  await Promise.all(calls);
  const state = store.stateOf(ORIGIN);
  assert.ok(
    state?.rules.every((r) => r.entries <= 66),
    JSON.stringify(state),
  );
  // One per 8.64 ms from the pause's end.
  assert.ok((sent[200] as number) <= 1000 + 200 * 8.64 + 1, `the 200th went at ${sent[200]} ms`);
  await api.close();
});

test.run();
