// rules: 'auto' (issue 18) against servers that state no quota: only `Retry-After` on their 429s, or nothing at all (a
// bare 429). At any window (100 ms to a day) and limit (1 to 1000), against every server kind, the policy is learnt from
// the refusals alone (learn.ts): a cautious start (two requests one at a time, then two in flight, one more per
// START_GROWTH_ANSWERS answers), a pause per 429 (the stated wait, else a base growing x4 per 429 in a row), an estimate
// from the requests accepted over the time they took (ramping up from one in flight), then a search shortening the
// window by eighths (against a server that takes one at a time, steps decided by one answer, growing while they hold).
//
// What these check is what holds at every scale today, each named for what it claims; the bench's floors (at most 3
// 429s with Retry-After and 5 with nothing, within 1.25x and 1.35x of the least time, at 20 per 2 s and 60 per minute)
// are not met at every scale, and SLUICE_LEARN_REPORT=1 prints how far: see the rate-limit README's section on learning.
// SLUICE_LEARN_DUMP=<file> appends a JSON line per run (scenario, 429s, completion over the least time): two builds run
// with the same SLUICE_FUZZ_SEED draw the same scenarios, to compare run for run.
import { appendFileSync } from 'node:fs';
import { compose } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { type LearntPolicy, rateLimit, START_GROWTH_ANSWERS, START_IN_FLIGHT } from '@sluice/rate-limit';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { counter, leastTime, quotaHeaders } from '../bench/scale-servers.mjs';
import { seeded } from '../rate-limit/models.js';
import { heavy } from './config.js';
import { runUntil } from './run.js';

const KEY = 'https://api.example';
type Kind = 'sliding' | 'fixed' | 'bucket';
type Evidence = 'retry-after' | 'nothing';

/**
 * The 429s a run may cost: the requests in flight at the first 429 (START_IN_FLIGHT, one more per START_GROWTH_ANSWERS
 * answers before it); with nothing stated, the probes that bound the window (a pause from a second, four times longer
 * per 429 in a row: one per power of 4 of the window in seconds, and the one that ends it); and four for the search
 * below the estimate (the 429 that ends it and one in flight with it; a window it passed that is refused later, as a
 * fixed window's phase drifts or a bucket's savings run out, and one in flight with that).
 */
const SEARCH_COST = 4;
const refusalBudget = (s: Scenario) =>
  START_IN_FLIGHT +
  Math.floor(s.requests / START_GROWTH_ANSWERS) +
  (s.evidence === 'nothing' ? Math.ceil(Math.log(Math.max(1, s.windowMs / 1000)) / Math.log(4)) + 1 : 0) +
  SEARCH_COST;
/**
 * A regression guard, not the goal (1.25x and 1.35x at the bench's scales): completion over the least time, by evidence.
 * A wait stated bounds the window: 1.84x at most over 16,000 runs drawn (seeds 600-639 and 700-739). With bare 429s
 * the probes (a pause four times longer per 429 in a row) may find the window only four times over, and the search
 * comes down from there two windows a step, where a run lasts three to five windows: 2.95x at most over those runs,
 * 3.07x in seed 807 (fixed windows of 46 per 75 s), and 3.47x for 2 per 1.002 s answered at once (its first probe, a
 * second on, refused just before the window freed).
 */
const MOST_OVER_LEAST = { 'retry-after': 2.5, nothing: 4 } as const;

const MOST_REQUESTS = 2000;
const logUniform = (min: number, max: number) => fc.double({ min: Math.log(min), max: Math.log(max), noNaN: true }).map(Math.exp);

const scenario = fc
  .record({
    kind: fc.constantFrom<Kind>('sliding', 'fixed', 'bucket'),
    evidence: fc.constantFrom<Evidence>('retry-after', 'nothing'),
    windowMs: logUniform(100, 86_400_000).map((w) => Math.max(100, Math.round(w))),
    limit: logUniform(1, 1000).map((l) => Math.max(1, Math.round(l))),
    floorMs: fc.nat({ max: 200 }),
    noiseMs: fc.nat({ max: 200 }),
    // A handful of windows' worth (the bench's 300 requests are 5 and 15), at least 20 requests; at most 2000 (+ 19),
    // for time (each request costs about 0.3 ms here): two windows or more at the largest limits.
    windows: fc.integer({ min: 3, max: 5 }),
    extra: fc.nat({ max: 19 }),
    seed: fc.integer(),
  })
  .map(({ windows, extra, ...s }) => ({ ...s, requests: Math.min(MOST_REQUESTS, Math.max(20, s.limit * windows)) + extra }));
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/**
 * Whether the cautious start fills a window: START_IN_FLIGHT requests in flight at the slowest round trip send at least
 * twice the limit per window, so the server refuses within the first window or two. Else nothing is learnt until the
 * start grows past START_IN_FLIGHT to meet the limit, if it ever does within the run.
 */
const startFillsWindow = (s: Scenario) => START_IN_FLIGHT * s.windowMs >= 2 * s.limit * 2 * (s.floorMs + s.noiseMs);

interface Outcome {
  /** Every call settled, and none twice; calls that rejected (none should: every call gets the server's answer). */
  settledOnce: boolean;
  rejected: number;
  timersLeft: number;
  /** When each request the server answered 429 was sent, from the start. */
  refusedSentAt: number[];
  /** Each `rate-limit:learned` event with a policy: when, what it said, the policy. */
  learnt: { at: number; evidence: string; policy: LearntPolicy }[];
  policy: LearntPolicy | undefined;
  completionMs: number;
  /** The least time for the requests the server admitted (a 429 is returned to its caller, not retried). */
  leastMs: number;
}

/**
 * One burst of `requests` at once through `rateLimit({ rules: 'auto' })` to the server, on the virtual clock. It starts
 * so that a request sent at once at the least latency arrives at the start of a fixed window: the least time is then
 * `leastTime`'s for every kind.
 */
async function run(s: Scenario): Promise<Outcome> {
  const start = Math.ceil((Date.UTC(2026, 0, 1) + s.floorMs) / s.windowMs) * s.windowMs - s.floorMs;
  const clock = createTestClock({ now: start, flushRounds: 1 });
  const random = seeded(s.seed);
  const server = counter(s.kind, s.limit, s.windowMs);
  const way = () => s.floorMs + random() * s.noiseMs;
  const refusedSentAt: number[] = [];
  const transport = async () => {
    const sentAt = clock.now();
    await clock.sleep(way());
    const now = clock.now();
    const admitted = server.admit(now);
    const headers = quotaHeaders('none', s.limit, s.windowMs, server.quota(now), now);
    // As the scale section's servers (serverOf in test/bench/scale-cells.mjs): whole seconds until one more is admitted, at least 1.
    if (!admitted && s.evidence === 'retry-after')
      headers['retry-after'] = String(Math.max(1, Math.ceil((server.quota(now).resetAt - now) / 1000)));
    if (!admitted) refusedSentAt.push(sentAt - start);
    await clock.sleep(way());
    return new Response(null, { status: admitted ? 200 : 429, headers });
  };
  const limiter = rateLimit({ rules: 'auto', concurrency: 1000, maxQueue: 100_000, key: () => KEY });
  const api = compose([limiter], { fetch: transport, clock });
  const learnt: Outcome['learnt'] = [];
  api.events.on('rate-limit:learned', (e) => {
    if (e.policy) learnt.push({ at: clock.now() - start, evidence: e.evidence, policy: e.policy });
  });
  const settles = new Array<number>(s.requests).fill(0);
  let settled = 0;
  let rejected = 0;
  let last = start;
  const settle = (i: number, failed: boolean) => {
    settles[i] = (settles[i] ?? 0) + 1;
    settled++;
    if (failed) rejected++;
    last = clock.now();
  };
  for (let i = 0; i < s.requests; i++)
    api(`${KEY}/v2/e${i % 3}`).then(
      () => settle(i, false),
      () => settle(i, true),
    );
  const done = await runUntil(clock, () => settled === s.requests);
  const policy = limiter.policyOf(KEY);
  await api.close();
  return {
    settledOnce: done && settles.every((n) => n === 1),
    rejected,
    timersLeft: clock.pending,
    refusedSentAt,
    learnt,
    policy,
    completionMs: last - start,
    leastMs: leastTime(s.kind, s.requests - refusedSentAt.length, s.limit, s.windowMs, s.floorMs),
  };
}

// The properties below judge the same runs: each case is simulated once, by the first property to meet it, and its
// outcome kept, so each property has its own verdict and counterexample for the cost of one simulation per case. They
// draw the same cases: one seed for all.
const outcomes = new Map<string, Promise<Outcome>>();
const outcomeOf = (s: Scenario) => {
  const id = JSON.stringify(s);
  let outcome = outcomes.get(id);
  if (!outcome) outcomes.set(id, (outcome = run(s)));
  return outcome;
};
// The failing run's message (its 429s and what was learnt) goes into the report.
const params = { ...heavy, seed: Number(process.env.SLUICE_FUZZ_SEED ?? heavy.seed ?? Date.now() | 0), includeErrorInReport: true };
const drawn: [Scenario, Outcome][] = [];

const describe = (o: Outcome) =>
  `${o.refusedSentAt.length} 429s (sent at ${o.refusedSentAt.map(Math.round).join(', ')} ms), ${(o.completionMs / o.leastMs).toFixed(2)}x the least time (${Math.round(o.completionMs)} ms, least ${Math.round(o.leastMs)} ms); learnt ${JSON.stringify(o.policy)}: ${o.learnt
    .map((l) => `${Math.round(l.at)} ms: ${l.evidence}`)
    .filter((_, i, all) => i < 6 || i >= all.length - 3)
    .join(' | ')}`;

test("rules: 'auto' against servers stating no quota: every call settles exactly once with the server's answer, and no timer is left after close", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const o = await outcomeOf(s);
      drawn.push([s, o]);
      assert.ok(o.settledOnce, 'every call settled exactly once');
      assert.is(o.rejected, 0, 'every call has its answer');
      assert.is(o.timersLeft, 0, 'no timer left');
    }),
    params,
  );
});

// A search started again (a rule that held requests back long enough is tried looser: the server may allow more by
// now) costs what a search does.
const searchesAgain = (o: Outcome) => o.learnt.filter((l) => l.evidence.endsWith(' again')).length;

test('no quota stated: the 429s stay within what the start, the probes and the search cost (two plus a 64th of the requests; with nothing stated, one per power of 4 of the window in seconds, plus one; four, and four per search started again), at any scale', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const o = await outcomeOf(s);
      const budget = refusalBudget(s) + SEARCH_COST * searchesAgain(o);
      assert.ok(o.refusedSentAt.length <= budget, `budget ${budget}: ${describe(o)}`);
    }),
    params,
  );
});

/** Runs a case the property above found, and asserts its 429s stay within the budget. */
async function withinBudget(s: Scenario) {
  const o = await run(s);
  assert.ok(o.refusedSentAt.length <= refusalBudget(s), `budget ${refusalBudget(s)}: ${describe(o)}`);
  return o;
}

// Found by the property above (seed 7): a fixed window of one per 442 ms, answered at once. Its phase let the search's
// growing steps hold one answer each, from a second down to 164 ms; what held by luck was then undone a quarter at a
// time, a 429 each (eight in all). Now two quarters, then halfway back to where the search started.
test('no quota stated, a fixed window of 1 per 442 ms answered at once, where luck carried the search to a third of it: the 429s stay within the budget', async () => {
  const s: Scenario = { kind: 'fixed', evidence: 'nothing', windowMs: 442, limit: 1, floorMs: 0, noiseMs: 0, seed: 0, requests: 20 };
  const o = await withinBudget(s);
  assert.ok(
    o.learnt.some((l) => l.evidence.includes('held by luck')),
    'the luck was seen',
  );
});

// Found by the property above in CI (seed 1391948699): a bucket of 996 per 81 s stating Retry-After, its burst taken by a
// start pushed to 27 in flight, for a rate twice the refill. After the pause, all 27 went again and met the bucket's
// refill of a second: 6 429s, then a search that held on savings and was refused with 5 in flight: 38. The start's last
// requests, a few taken among 429s, now hold the key to that many in flight, plus one: 26.
test('no quota stated, a bucket of 996 per 81 s with Retry-After, met by a pushed start: the 429s stay within the budget', async () => {
  const s: Scenario = {
    kind: 'bucket',
    evidence: 'retry-after',
    windowMs: 81012,
    limit: 996,
    floorMs: 166,
    noiseMs: 1,
    seed: -29,
    requests: 2000,
  };
  await withinBudget(s);
});

// Found by the property above in CI (seed 1389887103): a bucket of 978 per 104 s stating Retry-After, its burst taken
// by a start pushed to 20 in flight. The search's window, settled, was refused once the bucket's savings ran out, and
// went halfway back, still faster than the bucket refills: 38 429s. A server that saves up now gets a new estimate
// there, which reads the rate it sustains: 37, the budget's edge (the start and its estimate cost 33 of them).
test('no quota stated, a bucket of 978 per 104 s with Retry-After, met by a pushed start: the 429s stay within the budget', async () => {
  const s: Scenario = {
    kind: 'bucket',
    evidence: 'retry-after',
    windowMs: 104125,
    limit: 978,
    floorMs: 76,
    noiseMs: 0,
    seed: 0,
    requests: 2000,
  };
  await withinBudget(s);
});

// Found by the property above (seed 862): a bucket of 924 per 10 h with bare 429s, its burst taken by a start pushed to
// 16 in flight for 15 per 694 ms. Each bare 429 under that rule paused the key a window of it, 694 ms, however many came
// in a row, while the bucket refilled one in 39 s: 43 in a row, 67 in all over a budget of 66. A pause now grows four
// times per 429 in a row under a rule too, as before one: 26.
test('no quota stated, a bucket of 924 per 10 h with bare 429s, met by a pushed start: the 429s stay within the budget', async () => {
  await withinBudget({
    kind: 'bucket',
    evidence: 'nothing',
    windowMs: 35899702,
    limit: 924,
    floorMs: 1,
    noiseMs: 139,
    seed: 1610612714,
    requests: 2000,
  });
});

/** Where completion is guarded: windows of a second and more, limits the start meets before it grows, which it fills. */
const guarded = (s: Scenario) => startFillsWindow(s) && s.windowMs >= 1000 && s.limit <= START_GROWTH_ANSWERS;

const withinLeast = (region: (s: Scenario) => boolean) =>
  fc.asyncProperty(scenario, async (s) => {
    if (!region(s)) return;
    const o = await outcomeOf(s);
    assert.ok(o.completionMs <= MOST_OVER_LEAST[s.evidence] * o.leastMs, describe(o));
  });

// Not below a second: a wait of at least a second (whole seconds) against a window of 100 ms, and each request counted
// until its answer where the round trip is longer than the window, take up to 5x there. Nor where the start must grow
// to meet the limit: a limit above START_GROWTH_ANSWERS takes it many windows (up to 8x over the runs drawn here), a
// window it does not fill more (SLUICE_LEARN_REPORT=1 prints them).
test(`no quota stated, windows of a second and more, limits up to ${START_GROWTH_ANSWERS} that ${START_IN_FLIGHT} in flight fill: completion within ${MOST_OVER_LEAST['retry-after']}x the least time with Retry-After, ${MOST_OVER_LEAST.nothing}x with bare 429s`, async () => {
  await fc.assert(withinLeast(guarded), params);
});

// Found by the property above (seed 721): a sliding log of 4 per 6.15 s with bare 429s, 25 requests. Its probes, a
// second and five seconds after the first 429, came just before it freed; the one taken 21 s on gave an estimate three
// times the window, held for two of its windows before the search's first step: 3.26x the least time. The probe taken
// showed the estimate's first window free: one window's answers decide the first step now, 2.95x.
test('no quota stated, a sliding log of 4 per 6.15 s with bare 429s, its window bounded by a probe taken 21 s on: completion within 3x the least time', async () => {
  const s: Scenario = {
    kind: 'sliding',
    evidence: 'nothing',
    windowMs: 6151,
    limit: 4,
    floorMs: 1,
    noiseMs: 10,
    seed: 2147483643,
    requests: 25,
  };
  const o = await run(s);
  assert.ok(guarded(s), 'where completion is guarded');
  assert.ok(o.completionMs <= 3 * o.leastMs, describe(o));
});

// SLUICE_LEARN_REPORT=1 prints the runs drawn: 429s and completion over the least time, per evidence, kind and window.
test.after(() => {
  const dump = process.env.SLUICE_LEARN_DUMP;
  if (dump)
    for (const [scenario, o] of drawn)
      appendFileSync(dump, `${JSON.stringify({ scenario, refused: o.refusedSentAt.length, over: o.completionMs / o.leastMs })}\n`);
  if (!process.env.SLUICE_LEARN_REPORT) return;
  const scale = (w: number) =>
    w < 1000 ? '100 ms-1 s' : w < 60_000 ? '1 s-1 min' : w < 3_600_000 ? '1 min-1 h' : w < 21_600_000 ? '1 h-6 h' : '6 h-1 day';
  const groups = new Map<string, [Scenario, Outcome][]>();
  for (const run of drawn) {
    const [s] = run;
    const region = startFillsWindow(s) ? 'fills' : 'short';
    for (const name of [`${s.evidence} ${region} ${s.kind}`, `${s.evidence} ${region} ${scale(s.windowMs)}`])
      groups.set(name, [...(groups.get(name) ?? []), run]);
  }
  const at = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
  for (const [sc, o] of drawn)
    if (o.refusedSentAt.length > refusalBudget(sc) || (guarded(sc) && o.completionMs > MOST_OVER_LEAST[sc.evidence] * o.leastMs))
      console.log('outside the bounds:', JSON.stringify({ ...sc, budget: refusalBudget(sc) }), describe(o));
  console.log('evidence, start fills a window?, kind or window: runs | 429s: count x runs | over the least time: median, 90%, most');
  for (const [name, runs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const counts = new Map<number, number>();
    for (const [, o] of runs) counts.set(o.refusedSentAt.length, (counts.get(o.refusedSentAt.length) ?? 0) + 1);
    const ratios = runs.map(([, o]) => o.completionMs / o.leastMs);
    const hist = [...counts].sort(([a], [b]) => a - b).map(([n, k]) => `${n}x${k}`);
    console.log(`${name}: ${runs.length} | ${hist.join(' ')} | ${[0.5, 0.9, 1].map((p) => at(ratios, p).toFixed(2)).join(' ')}`);
  }
});

test.run();
