// rules: 'auto' (issue 18) at every scale: what a server announces is followed, never loosened on one answer, and a
// policy learnt from quota headers sends nothing over the server's limit, whatever it counts with.
import { compose } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { LOOSEN_AFTER, rateLimit } from '@sluice/rate-limit';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { counter, quotaHeaders } from '../bench/scale-servers.mjs';
import { seeded } from '../rate-limit/models.js';
import { heavy } from './config.js';
import { runUntil } from './run.js';

const KEY = 'https://api.example';
const quota = fc
  .record({ limit: fc.integer({ min: 1, max: 1000 }), windowMs: fc.constantFrom(1000, 10_000, 60_000, 3_600_000) })
  .map(({ limit, windowMs }) => ({ limit, windowMs }));
/** The most a policy lets go over `spanMs`, each rule read as a sliding log. */
const allowedIn = (rules: { limit: number; windowMs: number }[], spanMs: number) =>
  Math.min(...rules.map((r) => r.limit * Math.ceil(spanMs / r.windowMs)));
const looser = (a: { limit: number; windowMs: number }, b: { limit: number; windowMs: number }) =>
  [a.windowMs, b.windowMs].some((w) => allowedIn([a], w) > allowedIn([b], w));

test('announced policies: a tighter one holds at once; a looser one only once announced in LOOSEN_AFTER answers in a row', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(quota, { minLength: 1, maxLength: 12 }), async (announced) => {
      const clock = createTestClock();
      const transport = createFakeTransport({ clock });
      const limiter = rateLimit({ rules: 'auto' });
      const api = compose([limiter], { fetch: transport.fetch, clock });
      let held: { limit: number; windowMs: number } | undefined;
      for (let i = 0; i < announced.length; i++) {
        const q = announced[i] as { limit: number; windowMs: number };
        transport.queue(new Response(null, { headers: { 'ratelimit-policy': `"q";q=${q.limit};w=${q.windowMs / 1000}` } }));
        const call = api(`${KEY}/v2/a`);
        await clock.runAll();
        await call;
        const now = limiter.policyOf(KEY)?.rules[0];
        const inARow = announced.slice(Math.max(0, i - LOOSEN_AFTER + 1), i + 1);
        const consistent = inARow.length === LOOSEN_AFTER && inARow.every((a) => a.limit === q.limit && a.windowMs === q.windowMs);
        if (!held || !looser(q, held) || consistent) assert.equal(now, q, `answer ${i}`);
        else assert.equal(now, held, `answer ${i}: one looser answer must not loosen`);
        held = now;
      }
      await api.close();
    }),
    heavy,
  );
});

type Kind = 'sliding' | 'fixed' | 'bucket';
const logUniform = (min: number, max: number) => fc.double({ min: Math.log(min), max: Math.log(max), noNaN: true }).map(Math.exp);

type Quoted = {
  kind: Kind;
  headers: 'x-ratelimit' | 'ietf' | 'quota';
  windowMs: number;
  limit: number;
  floorMs: number;
  noiseMs: number;
  requests: number;
  seed: number;
  /**
   * Documented rules (`startFrom`) of the server's limit over this many of its windows: right (1), or too tight (10,
   * as the reference API's minute where the server counts in 6 s). None: nothing documented.
   */
  documentedWindows?: 1 | 10;
  /** Requests in flight per endpoint at most (`concurrency`); 1000 unless set. */
  concurrency?: number;
};

/**
 * `s.requests` at once through `rateLimit({ rules: 'auto' })` to a server of `s.kind` stating its quota, on the virtual
 * clock: whether every call settled, the requests it admitted over its limit, the policy learnt, the timers left.
 */
async function runQuoted(s: Quoted) {
  const clock = createTestClock({ flushRounds: 1 });
  const random = seeded(s.seed);
  const server = counter(s.kind, s.limit, s.windowMs);
  const way = () => s.floorMs + random() * s.noiseMs;
  let overLimit = 0;
  const transport = async () => {
    await clock.sleep(way());
    const now = clock.now();
    const admitted = server.admit(now);
    if (!admitted) overLimit++;
    const headers = quotaHeaders(s.headers === 'quota' ? 'x-ratelimit' : s.headers, s.limit, s.windowMs, server.quota(now), now);
    if (s.headers === 'quota') delete headers['x-ratelimit-limit'];
    await clock.sleep(way());
    return new Response(null, { status: admitted ? 200 : 429, headers });
  };
  const startFrom = s.documentedWindows && [{ limit: s.limit, windowMs: s.windowMs * s.documentedWindows }];
  const limiter = rateLimit({ rules: 'auto', startFrom, concurrency: s.concurrency ?? 1000, maxQueue: 100_000, key: () => KEY });
  const api = compose([limiter], { fetch: transport, clock });
  let settled = 0;
  for (let i = 0; i < s.requests; i++)
    api(`${KEY}/v2/e${i % 3}`).then(
      () => settled++,
      () => settled++,
    );
  const allSettled = await runUntil(clock, () => settled === s.requests);
  const policy = limiter.policyOf(KEY);
  await api.close();
  return { allSettled, overLimit, policy, timersLeft: clock.pending };
}

const assertWithinLimit = async (s: Quoted) => {
  const o = await runQuoted(s);
  assert.ok(o.allSettled, 'every call settled');
  assert.is(o.overLimit, 0, `over the limit, learnt ${JSON.stringify(o.policy)}`);
  assert.is(o.timersLeft, 0, 'no timer left');
};

test("rules: 'auto' at any window (100 ms to a day) and limit (1 to a million), against every server kind stating its quota (with or without its limit), with nothing documented or its limit documented over its window or ten: no request over the limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        kind: fc.constantFrom<Kind>('sliding', 'fixed', 'bucket'),
        // 'quota': X-RateLimit-Remaining and -Reset only, as the reference API (the store sizes the quota itself).
        headers: fc.constantFrom<Quoted['headers']>('x-ratelimit', 'ietf', 'quota'),
        // Whole milliseconds, and for the IETF policy a window it can state (`w` in seconds, three decimals).
        windowMs: logUniform(100, 86_400_000).map((w) => Math.max(100, Math.round(w))),
        limit: logUniform(1, 1_000_000).map((l) => Math.max(1, Math.round(l))),
        floorMs: fc.nat({ max: 200 }),
        noiseMs: fc.nat({ max: 200 }),
        requests: fc.integer({ min: 1, max: 200 }),
        seed: fc.integer(),
        documentedWindows: fc.constantFrom(undefined, 1, 10),
      }),
      assertWithinLimit,
    ),
    heavy,
  );
});

// A sliding log read from what is left (`aging-reading.ts`) needs several windows of requests, a few in flight at a
// time: a stated limit without its window, against each server kind, many requests per limit. Documented rules, right
// or ten times too long, are tried against what is left the same way (requests left where they hold the key).
test("rules: 'auto', a quota stated without its window, several windows of requests a few at a time, with or without documented rules: nothing over any server's limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        kind: fc.constantFrom<Kind>('sliding', 'fixed', 'bucket'),
        headers: fc.constantFrom<Quoted['headers']>('x-ratelimit', 'quota'),
        windowMs: logUniform(200, 120_000).map((w) => Math.round(w)),
        limit: fc.integer({ min: 2, max: 60 }),
        floorMs: fc.nat({ max: 100 }),
        noiseMs: fc.nat({ max: 100 }),
        requests: fc.integer({ min: 100, max: 400 }),
        seed: fc.integer(),
        concurrency: fc.integer({ min: 1, max: 8 }),
        documentedWindows: fc.constantFrom(undefined, 1, 10),
      }),
      assertWithinLimit,
    ),
    heavy,
  );
});

// Found by the property above while documented rules were added to it: a sliding log of 2 per 1040 ms stating
// X-RateLimit-*, the same documented. A reset was taken as coming before the rule freed the key's oldest request because
// that request was dated by its answer and the one the server still counted was left out; a request went at that reset
// and over the limit. The oldest is now taken as the first sent of those the server may still count.
test('documented rules right for a sliding log of 2 per 1040 ms stating X-RateLimit-*: no request over the limit', async () => {
  await assertWithinLimit({
    kind: 'sliding',
    headers: 'x-ratelimit',
    windowMs: 1040,
    limit: 2,
    floorMs: 0,
    noiseMs: 174,
    requests: 23,
    seed: -1798960505,
    documentedWindows: 1,
  });
});

// Found by the property above in CI (seed 1428354006): fixed windows of 2 per 9.21 s stating X-RateLimit-* with resets in
// whole seconds, answered at once. The step between two resets, each rounded up, was 9 s: a window of 9 s, and the
// eleventh request went over the limit. A step read from whole seconds is now taken a second longer.
// Found by the property of a stated limit with many requests a few at a time: fixed windows of 11 per 4.693 s stating
// X-RateLimit-* in whole seconds, answered at once, one request in flight. The refill search's early requests were
// refused twice, and the window was read from the resets' last step, 4 s: five requests went over the limit. No window
// is read from whole-second resets where the search runs; the quota stays followed.
test('fixed windows of 11 per 4.693 s stating resets in whole seconds, one request in flight: no request over the limit', async () => {
  await assertWithinLimit({
    kind: 'fixed',
    headers: 'x-ratelimit',
    windowMs: 4693,
    limit: 11,
    floorMs: 0,
    noiseMs: 0,
    requests: 100,
    seed: 0,
    concurrency: 1,
  });
});

// Found by the property of many requests a few at a time (seed 1784225489): a bucket of 12 per 7.964 s stating
// X-RateLimit-*, the same documented. The key followed the quota once its first reset came well before the documented
// rule would free it, and began reading what was left; answers to requests of its first burst had come while it held
// the documented rule, unread, and two answers compared showed a bucket refilling slower than it does: read as a
// sliding log of 12 per 7.488 s, one request went over. A reading now compares only requests sent since it began.
test('a bucket of 12 per 7.964 s, documented, stating X-RateLimit-*, three in flight: no request over the limit', async () => {
  await assertWithinLimit({
    kind: 'bucket',
    headers: 'x-ratelimit',
    windowMs: 7964,
    limit: 12,
    floorMs: 7,
    noiseMs: 85,
    requests: 100,
    seed: 1784225489,
    concurrency: 3,
    documentedWindows: 1,
  });
});

// Found by the property of many requests a few at a time (seed -1226072561): a sliding log of 4 per 1.689 s stating
// X-RateLimit-*, the same documented, two in flight. The answers kept to check the rules were as many as their limit:
// one to a request the server still counted was dropped, the reset stated seemed a second too soon for the rules, and
// the request sent at it was refused. Four times the limit are kept.
test('a sliding log of 4 per 1.689 s, documented, stating X-RateLimit-*, two in flight: no request over the limit', async () => {
  await assertWithinLimit({
    kind: 'sliding',
    headers: 'x-ratelimit',
    windowMs: 1689,
    limit: 4,
    floorMs: 6,
    noiseMs: 94,
    requests: 100,
    seed: -1226072561,
    concurrency: 2,
    documentedWindows: 1,
  });
});

test('a fixed window of 2 per 9.21 s stating its resets in whole seconds: no request over the limit', async () => {
  await assertWithinLimit({
    kind: 'fixed',
    headers: 'x-ratelimit',
    windowMs: 9210,
    limit: 2,
    floorMs: 0,
    noiseMs: 0,
    requests: 11,
    seed: 0,
  });
});

test.run();
