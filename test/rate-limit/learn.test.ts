// rules: 'auto' (issue 18): the limiter learns each key's policy from the server's answers, on the virtual clock, against
// the three server models with each kind of evidence they may give.
import { authToken, keyFingerprint } from '@sluice/auth-token';
import { compose, type SluiceEvents } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import {
  createMemoryStore,
  type RateLimitOptions,
  type RateLimitStore,
  type Rule,
  rateLimit,
  START_GROWTH_ANSWERS,
  START_IN_FLIGHT,
} from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from '../helpers/index.js';
import { harness, URL_A } from './harness.js';
import { type Counting, createServer, type Evidence, minimumCompletion, reform, seeded } from './models.js';

const ORIGIN = 'https://api.example';
async function run(
  counting: Counting,
  evidence: Evidence,
  {
    count = 300,
    limit = 20,
    windowMs = 2000,
    startFrom = undefined as Rule[] | undefined,
    latency = [25, 75] as [number, number],
    serviceMs = [0, 20] as [number, number],
    stepMs = 50,
  } = {},
) {
  const clock = createTestClock();
  const server = createServer({ clock, counting, random: seeded(18), limit, windowMs, latency, serviceMs });
  // When each request refused was sent, and when the policy last changed: requests sent after it and refused are 429s
  // the learnt policy let through.
  const refusedSentAt: number[] = [];
  const fetch = async (request: Request) => {
    const sentAt = clock.now();
    const response = reform(await server.fetch(request), evidence, limit, windowMs, clock.now());
    if (response.status === 429) refusedSentAt.push(sentAt);
    return response;
  };
  const limiter = rateLimit({ rules: 'auto', startFrom, maxQueue: count });
  const api = compose([limiter], { fetch, clock });
  const learnt: SluiceEvents['rate-limit:learned'][] = [];
  const learntAt: number[] = [];
  let settledAt = Number.NEGATIVE_INFINITY;
  api.events.on('rate-limit:learned', (e) => {
    learnt.push(e);
    settledAt = clock.now();
    learntAt.push(settledAt);
  });
  const t0 = clock.now();
  let last = t0;
  const calls = Array.from({ length: count }, (_, i) =>
    api(`${ORIGIN}/v2/e${i % 3}`).then((r) => {
      last = Math.max(last, clock.now());
      return r.status;
    }),
  );
  const statuses = await drive(clock, Promise.all(calls), { stepMs });
  const least = minimumCompletion(counting, Array(count).fill(0), limit, windowMs, latency[0]) + latency[0];
  await api.close();
  return {
    ratio: (last - t0) / least,
    refused: server.refused,
    refusedAfter: refusedSentAt.filter((at) => at > settledAt).length,
    answered429: statuses.filter((s) => s === 429).length,
    learnt,
    learntAt,
    refusedSentAt,
    policy: limiter.policyOf(ORIGIN),
  };
}

const report = (name: string, r: Awaited<ReturnType<typeof run>>) => {
  if (process.env.RATE_LIMIT_REPORT)
    console.log(name, r.refused, r.refusedAfter, r.ratio.toFixed(3), JSON.stringify(r.policy), r.learnt.map((l) => l.evidence).join(' | '));
};

for (const counting of ['sliding', 'fixed', 'bucket'] as const) {
  test(`auto, ${counting} 20 per 2 s announcing RateLimit-Policy: 0 429s, within 10% of the least time, the policy learnt`, async () => {
    const r = await run(counting, 'ietf');
    report(`${counting} ietf`, r);
    assert.is(r.refused, 0);
    assert.ok(r.ratio <= 1.1, `${r.ratio.toFixed(3)}x the least time`);
    assert.equal(r.policy, { source: 'announced', rules: [{ limit: 20, windowMs: 2000 }] });
  });
}

// A reset in whole seconds is up to a second late: at 2 s, read as the window, it cost a sliding log 1.58x the least
// time. Where that second is worth a request kept back, the quota stays followed and the store's refill search starts
// each epoch as soon as the server frees all of it: fixed windows 1.01x, a bucket 1.12x (it is never all back while the
// key keeps it busy). A sliding log frees its requests one by one, each a window after it came: once answers to requests
// sent one at a time show that, its window is read from what was left as they aged, and held as the rule (1.31x before,
// following the quota; 1.24x now).
const slowest = { sliding: 1.3, fixed: 1.1, bucket: 1.2 };
const learntFrom = { sliding: 'sliding-log', fixed: 'quota', bucket: 'quota' };
for (const counting of ['sliding', 'fixed', 'bucket'] as const) {
  test(`auto, ${counting} 20 per 2 s stating X-RateLimit-Limit without a window: 0 429s, within ${slowest[counting]}x`, async () => {
    const r = await run(counting, 'x-ratelimit');
    report(`${counting} x-ratelimit`, r);
    assert.is(r.refused, 0);
    assert.ok(r.ratio <= slowest[counting], `${r.ratio.toFixed(3)}x the least time`);
    assert.is(r.policy?.source, learntFrom[counting]);
    // A learnt window is never shorter than the server's: that would send early.
    for (const rule of r.policy?.rules ?? []) assert.ok(rule.limit === 20 && rule.windowMs >= 2000, JSON.stringify(r.policy));
  });
}

// Windows of a second and less, resets in whole seconds: a window read from them was 1.25 s for 250 ms (5.4x the least
// time) and 2.2 s for a sliding log of 1 s (2.3x). Followed with the refill search, 2.3x and 1.5x: at 250 ms, round
// trips of 50 to 150 ms take much of the rest.
const shortWindows = [
  { limit: 5, windowMs: 250, slowest: { sliding: 2.5, fixed: 2.4, bucket: 2.4 } },
  { limit: 10, windowMs: 1000, slowest: { sliding: 1.65, fixed: 1.2, bucket: 1.2 } },
];
for (const { limit, windowMs, slowest } of shortWindows) {
  for (const counting of ['sliding', 'fixed', 'bucket'] as const) {
    test(`auto, ${counting} ${limit} per ${windowMs} ms stating X-RateLimit-* in whole seconds: 0 429s, within ${slowest[counting]}x`, async () => {
      const r = await run(counting, 'x-ratelimit', { limit, windowMs });
      report(`${counting} x-ratelimit ${limit}/${windowMs} ms`, r);
      assert.is(r.refused, 0);
      assert.ok(r.ratio <= slowest[counting], `${r.ratio.toFixed(3)}x the least time`);
      for (const rule of r.policy?.rules ?? []) assert.ok(rule.windowMs >= windowMs, JSON.stringify(r.policy));
    });
  }
}

// The same with no limit stated (the reference API's form): the quota's size is the most it was seen to leave. A
// sliding log of 1 s took 2x the least time, one of 250 ms 4x.
for (const { limit, windowMs, slowest } of [
  { limit: 5, windowMs: 250, slowest: 2.5 },
  { limit: 10, windowMs: 1000, slowest: 1.65 },
]) {
  test(`auto, a sliding log of ${limit} per ${windowMs} ms stating only what is left and a reset in whole seconds: 0 429s, within ${slowest}x`, async () => {
    const r = await run('sliding', 'quota', { limit, windowMs });
    report(`sliding quota ${limit}/${windowMs} ms`, r);
    assert.is(r.refused, 0);
    assert.ok(r.ratio <= slowest, `${r.ratio.toFixed(3)}x the least time`);
    assert.is(r.policy?.source, 'quota');
  });
}

// Its window is read from resets in whole seconds, a second longer than their step (a step rounded up can be a second
// short of a fixed window's): 62 s, 1.033x the least time; 1.03x before, when a fixed window of 9.21 s read as 9 s.
test('auto, a sliding log of 60 per 60 s stating X-RateLimit-Limit: 0 429s, within 4% of the least time', async () => {
  const r = await run('sliding', 'x-ratelimit', { limit: 60, windowMs: 60_000 });
  report('sliding x-ratelimit 60/60 s', r);
  assert.is(r.refused, 0);
  assert.ok(r.ratio <= 1.04, `${r.ratio.toFixed(3)}x the least time`);
});

for (const counting of ['sliding', 'fixed', 'bucket'] as const) {
  for (const evidence of ['retry-after', 'nothing'] as const) {
    test(`auto, ${counting} 20 per 2 s with ${evidence === 'nothing' ? 'no headers at all' : 'only Retry-After'}: a few 429s while it learns, none after`, async () => {
      const r = await run(counting, evidence);
      report(`${counting} ${evidence}`, r);
      assert.ok(r.refused <= (evidence === 'nothing' ? 6 : 5), `${r.refused} 429s`);
      assert.is(r.refusedAfter, 0, 'no 429 once the policy settled');
      assert.is(r.policy?.source, 'refusals');
      // A regression guard, not the goal: the bench's section 3d measures 1.01x to 1.33x with Retry-After and 1.10x to
      // 1.63x with nothing, over both scales.
      assert.ok(r.ratio <= (evidence === 'nothing' ? 1.9 : 1.4), `${r.ratio.toFixed(3)}x the least time`);
    });
  }
}

test('auto, no headers, a server allowing five times what two in flight send: pushed until it refuses, then held near its rate', async () => {
  // 100 a second with 50 to 150 ms round trips: the start's two in flight send about 20 a second; one more per
  // START_GROWTH_ANSWERS answers reaches the limit after five or six hundred.
  const limit = 100;
  const count = 2000;
  const r = await run('sliding', 'nothing', { count, limit, windowMs: 1000 });
  report('sliding nothing 100/1 s', r);
  const rule = r.policy?.rules[0];
  assert.is(r.policy?.source, 'refusals', 'learnt from its 429s');
  assert.ok(rule && rule.limit / rule.windowMs <= limit / 1000, `learnt ${JSON.stringify(rule)}: no faster than the server`);
  assert.ok(rule && rule.limit / rule.windowMs >= limit / 2 / 1000, `learnt ${JSON.stringify(rule)}: at least half its rate`);
  assert.ok(r.refused <= START_IN_FLIGHT + count / START_GROWTH_ANSWERS, `${r.refused} 429s`);
  assert.is(r.refusedAfter, 0, 'no 429 once the policy settled');
});

// A sliding log or a fixed window frees the requests it counted together (a window after each, or at its end); a bucket
// refilled at the rate measured would have asked for a wait of one step of it, or taken a probe sent a step or more
// after the 429. Where the evidence rules that bucket out, the key sends as many again at once after the wait, not
// one a step over the window, which cost a whole window: 1.25x and 1.51x the least time here before, 1.03x and 1.26x
// now (bare 429s: the probe accepted comes up to four times the last refused one after the first request).
for (const evidence of ['retry-after', 'nothing'] as const) {
  for (const counting of ['sliding', 'fixed'] as const) {
    test(`auto, ${counting} 60 per 60 s with ${evidence === 'nothing' ? 'bare 429s' : 'only Retry-After'}: what the server freed together goes again together`, async () => {
      const r = await run(counting, evidence, { limit: 60, windowMs: 60_000 });
      report(`${counting} ${evidence} 60/60 s`, r);
      assert.ok(r.ratio <= (evidence === 'nothing' ? 1.3 : 1.05), `${r.ratio.toFixed(3)}x the least time`);
      assert.ok(r.refused <= (evidence === 'nothing' ? 4 : 2), `${r.refused} 429s`);
      assert.is(r.refusedAfter, 0, 'no 429 once the policy settled');
    });
  }
}

// A bucket of 60 refilled one a second: the search below an estimate from its refusals steps past its rate while the
// requests the bucket saved up meanwhile last (at 2.6 a second, two minutes in). Busy from one 429 to the next, the
// bucket refilled just what it took in between: that rate, not the step that held on its savings, is held from there.
for (const evidence of ['retry-after', 'nothing'] as const) {
  test(`auto, a bucket of 60 per 60 s with ${evidence === 'nothing' ? 'bare 429s' : 'only Retry-After'}: a search step that held on its savings gives way to the rate it sustained`, async () => {
    const r = await run('bucket', evidence, { limit: 60, windowMs: 60_000 });
    report(`bucket ${evidence} 60/60 s`, r);
    const sustained = r.learnt.find((l) => /held on what the server had saved up/.test(l.evidence));
    assert.ok(sustained, r.learnt.map((l) => l.evidence).join(' | '));
    const rule = sustained.policy?.rules[0];
    // Within a step of one a second, and no faster.
    assert.ok(rule && rule.windowMs >= rule.limit * 1000 && rule.windowMs <= rule.limit * 1000 * 1.125, JSON.stringify(rule));
    assert.ok(r.refused <= 6, `${r.refused} 429s`);
  });
}

// A bucket of 60 refilled one a second, met full: the start takes its burst (63 or so in 3.4 s) for its rate. The
// estimate's first two requests go alone, and the second, refused, corrects it: one 429, where requests sent a step of
// the rate measured apart cost two or three before.
test('auto, a bucket of 60 per 60 s with only Retry-After: its burst taken for its rate costs one 429', async () => {
  const r = await run('bucket', 'retry-after', { limit: 60, windowMs: 60_000 });
  report('bucket retry-after 60/60 s', r);
  const [first, second] = r.learntAt as [number, number];
  assert.match(r.learnt[0]?.evidence ?? '', /a 429 after 6\d requests answered/);
  assert.match(r.learnt[1]?.evidence ?? '', /a 429 after 1 requests answered/);
  assert.is(r.refusedSentAt.filter((at) => at > first && at <= second).length, 1);
});

// A bucket of 1000 met by a start pushed to a dozen or more in flight: its burst is taken for its rate. Its first 429
// asks to wait a second, as a server refilling about that fast would: the requests the start sent after the one refused
// come back during the pause. A few taken among 429s (a bucket of 1000 per 100 s refills about three a round trip): the
// server frees steadily, about that many a round trip, and the key holds to that many in flight, plus one. None taken
// (per 800 s, one every two or three round trips): the pause shows nothing, and the requests in flight ramp up again
// from one, doubling as each round is answered. Either way the estimate, too fast, is refused a request or two at a
// time, where all the start had in flight went at once after the pause before (9 and 15 429s here).
for (const { windowMs, steady } of [
  { windowMs: 100_000, steady: true },
  { windowMs: 800_000, steady: false },
]) {
  test(`auto, a bucket of 1000 per ${windowMs / 1000} s with only Retry-After, met by a pushed start: its estimate is refused with few in flight`, async () => {
    const count = 2000;
    const r = await run('bucket', 'retry-after', { limit: 1000, windowMs, count, latency: [150, 170] });
    report(`bucket retry-after 1000/${windowMs / 1000} s`, r);
    assert.match(r.learnt[0]?.evidence ?? '', /the same rate, \d+ at a time/);
    const read = r.learnt.find((l) => /the server frees steadily: at most \d+ in flight/.test(l.evidence));
    if (steady) assert.ok(read && (read.policy?.inFlight ?? 0) <= 5, r.learnt.map((l) => l.evidence).join(' | '));
    else assert.is(read, undefined);
    const first = r.learntAt[0] as number;
    const second = r.learnt.findIndex((l, i) => i > 0 && /^a 429 after/.test(l.evidence));
    const estimateRefused = r.refusedSentAt.filter((at) => at > first && at <= (r.learntAt[second] as number)).length;
    assert.ok(second > 0 && estimateRefused <= 2, `${estimateRefused} 429s to the estimate`);
    assert.ok(r.refused <= START_IN_FLIGHT + count / START_GROWTH_ANSWERS + 4, `${r.refused} 429s`);
  });
}

test('auto, after an estimate: two requests alone, then twice as many in flight as each round is answered without a 429', async () => {
  // 16 accepted at once, then 429s asking to wait until a minute has passed: the estimate lets 16 go again together.
  const { api, clock, transport } = harness({ rules: 'auto', concurrency: 64 });
  let accepted = 0;
  let until = 0;
  let inFlight = 0;
  const inFlightAtSends: number[] = [];
  transport.fallback(async () => {
    const now = clock.now();
    if (accepted >= 16 && until === 0) until = now + 60_000;
    if (now < until) return new Response(null, { status: 429, headers: { 'retry-after': String(Math.ceil((until - now) / 1000)) } });
    accepted++;
    inFlight++;
    if (until) inFlightAtSends.push(inFlight);
    await clock.sleep(200);
    inFlight--;
    return new Response('ok');
  });
  const calls = Array.from({ length: 40 }, () => api(URL_A).then((r) => r.status));
  await clock.runAll();
  const statuses = await Promise.all(calls);
  assert.ok(statuses.filter((s) => s === 429).length <= 2, statuses.join(' '));
  // One alone, a second alone (a bucket whose burst was taken for its rate would refuse it, and nothing else), then at
  // most 2, 4 and 8 in flight: the cap doubles once as many as it allows are answered, up to 15 of the 16 the estimate
  // allows (a request goes as soon as one answer frees its place, not only once the round is over).
  const ramp = inFlightAtSends.slice(0, 16);
  // The third goes with the fourth, once the second is answered: it finds nothing else in flight.
  assert.equal(ramp.slice(0, 3), [1, 1, 1], ramp.join(' '));
  assert.ok(
    ramp.every((n, i) => n <= 2 ** Math.floor(Math.log2(Math.max(1, i)))),
    ramp.join(' '),
  );
  assert.is(Math.max(...ramp), 8);
  await api.close();
});

for (const stated of [true, false]) {
  test(`auto, ${stated ? 'only Retry-After' : 'bare 429s'}: a request answered 200 after the 429 that ended its episode counts in the estimate`, async () => {
    // Two per hour. The first request goes alone; of the next two in flight, the second is refused at once, the first
    // accepted but answered later. With no wait stated, the fourth (after the pause) is accepted.
    const { api, clock, transport, limiter } = harness({ rules: 'auto' });
    let n = 0;
    transport.fallback(async () => {
      const i = n++;
      if (i === 2) return new Response(null, { status: 429, headers: stated ? { 'retry-after': '3600' } : {} });
      await clock.sleep(i === 1 ? 300 : 50);
      return new Response('ok');
    });
    const calls = Array.from({ length: stated ? 3 : 4 }, () => api(URL_A).then((r) => r.status));
    await clock.runAll();
    assert.equal(await Promise.all(calls), stated ? [200, 200, 429] : [200, 200, 429, 200]);
    assert.equal(
      limiter.policyOf('https://api.example')?.rules.map((r) => r.limit),
      [2],
    );
    await api.close();
  });
}

test('auto, only Retry-After: a request sent after the one a 429 refused, answered 200 after that 429, does not count in the estimate', async () => {
  // The first two go alone; the next two together: one answered at once, the other refused 100 ms later. The slot freed
  // at once lets a fifth go before that 429 comes back, accepted (the server freed or refilled one since the refused
  // request reached it) and answered later: it is not one more the server took before it was full.
  const { api, clock, transport, limiter } = harness({ rules: 'auto' });
  let n = 0;
  transport.fallback(async () => {
    const i = n++;
    if (i === 3) {
      await clock.sleep(100);
      return new Response(null, { status: 429, headers: { 'retry-after': '3600' } });
    }
    await clock.sleep(i === 2 ? 10 : i === 4 ? 290 : 50);
    return new Response('ok');
  });
  const calls = Array.from({ length: 5 }, () => api(URL_A).then((r) => r.status));
  await clock.runAll();
  assert.equal(await Promise.all(calls), [200, 200, 200, 429, 200]);
  assert.equal(
    limiter.policyOf('https://api.example')?.rules.map((r) => r.limit),
    [3],
  );
  await api.close();
});

test('auto, bare 429s: an answer to a request sent before the pause does not start the row of pauses again', async () => {
  // The first two requests go alone; of the next two in flight, one is answered 200 late, after the other's bare 429
  // paused the key a second. The probe after that second is refused too: the second 429 in a row pauses four times
  // as long (the late answer says nothing of the server since; taken as a fresh start, it paused a second again).
  const { api, clock, transport } = harness({ rules: 'auto' });
  const sentAt: number[] = [];
  transport.fallback(async () => {
    const i = sentAt.push(clock.now()) - 1;
    if (i === 3 || i === 4) return new Response(null, { status: 429 });
    await clock.sleep(i === 2 ? 300 : 50);
    return new Response('ok');
  });
  const calls = Array.from({ length: 6 }, () => api(URL_A).then((r) => r.status));
  await clock.runAll();
  assert.equal(await Promise.all(calls), [200, 200, 200, 429, 429, 200]);
  const [refusedFirst = 0, refusedAgain = 0, probe = 0] = sentAt.slice(3);
  assert.ok(refusedAgain - refusedFirst >= 1000, `paused ${refusedAgain - refusedFirst} ms after the first 429`);
  assert.ok(probe - refusedAgain >= 4 * (refusedAgain - refusedFirst), `paused ${probe - refusedAgain} ms after the second 429 in a row`);
  await api.close();
});

test('auto, bare 429s: the window the search settled on, refused later, goes halfway back to the window the search started from', async () => {
  // A sliding log of 4 per second, counting on arrival, answered 20 ms each way. Once the search has settled (its
  // first 429 brought back the last window that held), the server's window grows to 5% over the one settled on, as a
  // fixed window's phase can let a window too short hold for a while: its next 429 brings the window halfway back to
  // the estimate the search started from, not to a new estimate measured over the episode and its pause.
  const { api, clock, transport, of } = harness({ rules: 'auto' });
  const log: number[] = [];
  let windowMs = 1000;
  transport.fallback(async () => {
    await clock.sleep(20);
    const now = clock.now();
    while (log.length && (log[0] ?? 0) <= now - windowMs) log.shift();
    const admitted = log.length < 4;
    if (admitted) log.push(now);
    await clock.sleep(20);
    return new Response(null, { status: admitted ? 200 : 429 });
  });
  let settled: number | undefined;
  api.events.on('rate-limit:learned', (e) => {
    const rule = e.policy?.rules[0];
    if (settled === undefined && rule && / back to /.test(e.evidence)) {
      settled = rule.windowMs;
      windowMs = Math.ceil(settled * 1.05);
    }
  });
  const calls = Array.from({ length: 200 }, () => api(URL_A).then((r) => r.status));
  await clock.runAll();
  await Promise.all(calls);
  const learnt = of('rate-limit:learned');
  const searchedFrom = learnt.find((e) => e.policy?.source === 'refusals')?.policy?.rules[0]?.windowMs ?? 0;
  assert.ok(settled !== undefined && settled < searchedFrom, `settled on ${settled} ms, searched from ${searchedFrom} ms`);
  const halfway = Math.ceil((settled + searchedFrom) / 2);
  const after = learnt.filter((e) => new RegExp(`a 429 to a window of ${settled} ms`).test(e.evidence));
  assert.is(after.length, 1, learnt.map((e) => e.evidence).join(' | '));
  assert.is(after[0]?.policy?.rules[0]?.windowMs, halfway, after[0]?.evidence);
  assert.equal(after[0]?.policy?.rules[0]?.limit, 4);
  await api.close();
});

test('auto, bare 429s: an estimate far above the window comes down halfway to the probe refused last, after a first step of an eighth, taken after a window of it', async () => {
  // 2 per 1.5 s: the probe a second after the first 429 is refused, the next accepted well after the window.
  const r = await run('sliding', 'nothing', { count: 80, limit: 2, windowMs: 1500 });
  report('sliding nothing 2/1.5 s', r);
  const tried = r.learnt
    .map((l) => /trying a window of (\d+) ms/.exec(l.evidence)?.[1])
    .filter((w) => w !== undefined)
    .map(Number);
  const estimate = r.learnt.find((l) => l.policy?.source === 'refusals')?.policy?.rules[0]?.windowMs ?? 0;
  assert.ok(estimate > 2000, `estimated ${estimate} ms`);
  const [first = 0, second = 0] = tried;
  assert.is(first, Math.floor(estimate * (1 - 1 / 8)), 'the first step: an eighth');
  // The probe taken showed the estimate's first window free: one window's answers decide the first step, not two.
  assert.match(r.learnt.find((l) => l.evidence.includes('trying a window'))?.evidence ?? '', /^2 answers without a 429/);
  assert.ok(second < Math.floor(first * (1 - 1 / 8)), `the second step more than an eighth: ${tried.join(', ')} ms`);
  // Each request counts until its answer, then a window: a window a round trip short of the server's still holds.
  const rule = r.policy?.rules[0];
  assert.ok(rule && rule.windowMs >= 1500 - 150 && rule.windowMs <= 1500 * 1.25, `learnt ${JSON.stringify(rule)}`);
  assert.is(r.refusedAfter, 0, 'no 429 after it settled');
  assert.ok(r.refused <= 5, `${r.refused} 429s`);
});

// A server that takes one request at a time (nginx `limit_req` without burst is a bucket of one) tells its window by
// 429s alone. Its first 429 comes to the second request, sent alone, and the estimate (a pause of a second) can be ten
// times the window: the search steps down, each step decided by one answer where round trips hardly vary, twice as
// far after each that held; after one too far, on from the last that held by half-eighths. With steps of an eighth
// and two answers each, the search took 16 windows of the estimate: 1.47x the least time here, 1.22x now.
for (const counting of ['bucket', 'sliding'] as const) {
  test(`auto, bare 429s, a ${counting === 'bucket' ? 'bucket' : 'sliding log'} of 1 per 100 ms, round trips of 20 to 22 ms: at most 3 429s, none after, within 1.35x`, async () => {
    // The clock driven a millisecond at a time: round trips this short are not rounded up to the driver's step.
    const r = await run(counting, 'nothing', { limit: 1, windowMs: 100, latency: [10, 11], serviceMs: [0, 1], stepMs: 1 });
    report(`${counting} nothing 1/100 ms`, r);
    assert.ok(r.refused <= 3, `${r.refused} 429s`);
    assert.is(r.refusedAfter, 0, 'no 429 after it settled');
    assert.ok(r.ratio <= 1.35, `${r.ratio.toFixed(3)}x the least time`);
    const rule = r.policy?.rules[0];
    // Each request counts until its answer (less what the round trips show of the way back), then a window.
    assert.ok(rule?.limit === 1 && rule.windowMs >= 100 - 22 && rule.windowMs <= 110, `learnt ${JSON.stringify(r.policy)}`);
  });
}

// A fixed window of one also refuses the second request alone, but passes a window too short by its phase, and refuses
// it later: one answer decides nothing there. What held by luck ends the search, each later 429 lengthens the window by
// a quarter, and the rule stays one at a time (an estimate over many windows would let a burst go at once).
test('auto, bare 429s, a fixed window of 1 per 250 ms: one at a time still after a window that held is refused, at most 5 429s, none after, within 1.3x', async () => {
  const r = await run('fixed', 'nothing', { limit: 1, windowMs: 250, latency: [1, 2], serviceMs: [0, 1], stepMs: 1 });
  report('fixed nothing 1/250 ms', r);
  assert.ok(r.refused <= 5, `${r.refused} 429s`);
  assert.is(r.refusedAfter, 0, 'no 429 after it settled');
  assert.ok(r.ratio <= 1.3, `${r.ratio.toFixed(3)}x the least time`);
  for (const l of r.learnt) assert.is(l.policy?.rules[0]?.limit ?? 1, 1, l.evidence);
});

// The reference API states what is left and when it resets, not its limit: the quota is followed as it goes.
for (const algorithm of ['sliding-log', 'fixed-window', 'token-bucket'] as const) {
  test(`auto against the reference API's simulator (${algorithm}, X-RateLimit-Remaining and -Reset only): 0 429s, as fast as the documented rule`, async () => {
    const took = async (options: RateLimitOptions) => {
      const clock = createTestClock();
      const server = createMockServer({ clock, algorithm, latencyMs: { min: 5, max: 50 } });
      const limiter = rateLimit(options);
      const key = demoKeys.find((k) => k.role === 'admin')?.key as string;
      const api = compose([authToken({ apiKey: key, baseUrl: ORIGIN }), limiter], { fetch: server.fetch, clock });
      const t0 = clock.now();
      const calls = Array.from({ length: 300 }, (_, i) => api(`${ORIGIN}/v2/event-details?ids=evt_${i}`));
      await drive(clock, Promise.all(calls), { stepMs: 50 });
      await api.close();
      return { ms: clock.now() - t0, refused: server.stats().rateLimited, source: limiter.policyOf(await keyFingerprint(key))?.source };
    };
    const auto = await took({ rules: 'auto' });
    const documented = await took({});
    assert.is(auto.refused, 0);
    assert.is(auto.source, 'quota');
    // 300 requests and the exchange at 60 a minute: five windows; against the bucket, the quota lets it go faster.
    assert.ok(auto.ms <= documented.ms * 1.01, `${auto.ms} ms with 'auto', ${documented.ms} ms with the documented rule`);
  });
}

test('auto starts with START_IN_FLIGHT requests one at a time, then START_IN_FLIGHT in flight, one more per START_GROWTH_ANSWERS answers', async () => {
  const { api, clock, transport } = harness({ rules: 'auto' });
  let inFlight = 0;
  // How many were in flight as each request went.
  const atSend: number[] = [];
  transport.fallback(async () => {
    atSend.push(++inFlight);
    await clock.sleep(10);
    inFlight--;
    return new Response('ok');
  });
  const count = 1 + 3 * START_GROWTH_ANSWERS + 2 * (START_IN_FLIGHT + 3);
  const calls = Array.from({ length: count }, () => api(URL_A));
  await clock.runAll();
  await Promise.all(calls);
  // Two requests one at a time (a server that takes one at a time refuses the second alone), then 2 at a time.
  assert.equal(atSend.slice(0, 6), [1, 1, 1, 2, 1, 2]);
  // One more in flight once START_GROWTH_ANSWERS more were answered: the send that first has n in flight follows
  // START_IN_FLIGHT + (n - START_IN_FLIGHT) * START_GROWTH_ANSWERS answers, and at most n - 1 others in flight.
  for (let n = START_IN_FLIGHT + 1; n <= START_IN_FLIGHT + 3; n++) {
    const answers = START_IN_FLIGHT + (n - START_IN_FLIGHT) * START_GROWTH_ANSWERS;
    const first = atSend.indexOf(n);
    assert.ok(first >= answers && first < answers + n, `${n} in flight first at send ${first}, after ${answers} answers`);
  }
  assert.is(Math.max(...atSend), START_IN_FLIGHT + 3);
});

test('a key that follows its quota, its state dropped while idle, sends one request alone before it knows the quota again', async () => {
  const store = createMemoryStore();
  const { api, clock, transport, sent } = harness({ rules: 'auto', store });
  let left = 10;
  transport.fallback(async () => {
    await clock.sleep(20);
    left--;
    const reset = String(Math.ceil((clock.now() + 60_000) / 1000));
    return new Response('ok', { headers: { 'x-ratelimit-remaining': String(left), 'x-ratelimit-reset': reset } });
  });
  const first = Array.from({ length: 3 }, () => api(URL_A));
  await clock.runAll();
  await Promise.all(first);
  // A minute on, the quota's reset is past and nothing is in flight: the key's state goes.
  await clock.advance(120_000);
  assert.is(store.prune(clock.now()), 0);
  left = 10;
  const before = sent().length;
  const again = Array.from({ length: 3 }, () => api(URL_A));
  await clock.advance(10);
  assert.is(sent().length - before, 1, 'one request alone');
  await clock.runAll();
  await Promise.all(again);
  assert.is(sent().length - before, 3);
});

test('an announced policy is followed at once when tighter, and only after three answers in a row when looser', async () => {
  const { api, clock, transport, limiter, of } = harness({ rules: 'auto' });
  const policy = (q: number) => new Response('ok', { headers: { 'ratelimit-policy': `"p";q=${q};w=60` } });
  const next = async (response: Response) => {
    transport.queue(response);
    const call = api(URL_A);
    await clock.runAll();
    await call;
  };
  await next(policy(50));
  assert.equal(limiter.policyOf('https://api.example')?.rules, [{ limit: 50, windowMs: 60_000 }]);
  await next(policy(40));
  assert.equal(limiter.policyOf('https://api.example')?.rules, [{ limit: 40, windowMs: 60_000 }]);
  await next(policy(100));
  await next(policy(100));
  assert.equal(limiter.policyOf('https://api.example')?.rules, [{ limit: 40, windowMs: 60_000 }], 'two looser answers are not enough');
  await next(policy(100));
  assert.equal(limiter.policyOf('https://api.example')?.rules, [{ limit: 100, windowMs: 60_000 }]);
  // stats() shows every key's policy, as policyOf does.
  assert.equal(JSON.parse(JSON.stringify(limiter.stats())), {
    keys: 0,
    queued: 0,
    policies: { 'https://api.example': { source: 'announced', rules: [{ limit: 100, windowMs: 60_000 }] } },
  });
  const learnt = of('rate-limit:learned');
  assert.is(learnt.length, 3);
  assert.match(learnt[2]?.evidence ?? '', /in 3 answers in a row/);
});

test('several quotas in RateLimit-Policy all become rules', async () => {
  const { api, clock, transport, limiter } = harness({ rules: 'auto' });
  transport.queue(new Response('ok', { headers: { 'ratelimit-policy': '"burst";q=10;w=1, "day";q=1000;w=86400' } }));
  const call = api(URL_A);
  await clock.runAll();
  await call;
  assert.equal(limiter.policyOf('https://api.example'), {
    source: 'announced',
    rules: [
      { limit: 10, windowMs: 1000 },
      { limit: 1000, windowMs: 86_400_000 },
    ],
  });
});

test('startFrom: documented rules the answers agree with hold from the first request, as if typed', async () => {
  for (const evidence of ['x-ratelimit', 'quota', 'ietf'] as const) {
    const r = await run('sliding', evidence, { startFrom: [{ limit: 20, windowMs: 2000 }] });
    report(`documented right, ${evidence}`, r);
    assert.is(r.refused, 0, evidence);
    assert.ok(r.ratio <= 1.1, `${evidence}: ${r.ratio}`);
    assert.equal(r.policy, { source: evidence === 'ietf' ? 'announced' : 'documented', rules: [{ limit: 20, windowMs: 2000 }] });
  }
});

test('startFrom: documented rules too loose are tightened by the first stated limit; too tight, loosened on consistent evidence', async () => {
  const loose = await run('sliding', 'x-ratelimit', { startFrom: [{ limit: 40, windowMs: 2000 }] });
  report('documented too loose', loose);
  assert.is(loose.refused, 0);
  assert.equal(loose.policy?.rules, [{ limit: 20, windowMs: 2000 }]);
  assert.match(loose.learnt[0]?.evidence ?? '', /a stated limit of 20, under the documented 40 per 2000 ms/);
  const tight = await run('sliding', 'ietf', { startFrom: [{ limit: 10, windowMs: 2000 }] });
  report('documented too tight, announced', tight);
  assert.is(tight.refused, 0);
  assert.equal(tight.policy, { source: 'announced', rules: [{ limit: 20, windowMs: 2000 }] });
  assert.match(tight.learnt[0]?.evidence ?? '', /in 3 answers in a row/);
  // Only what is left is stated: more left than 10 per 2 s allows, three answers in a row, and the quota is followed.
  const quota = await run('sliding', 'quota', { startFrom: [{ limit: 10, windowMs: 2000 }] });
  report('documented too tight, quota', quota);
  assert.is(quota.refused, 0);
  assert.is(quota.policy?.source, 'quota');
  assert.match(quota.learnt[0]?.evidence ?? '', /3 answers in a row stated more than the documented 10 per 2000 ms allow/);
  assert.ok(quota.ratio < tight.ratio * 1.5, `following the quota: ${quota.ratio}`);
});

test('startFrom: documented rules of the right limit but ten times the window (the reference minute compressed): the quota, followed from the first reset', async () => {
  // The server counts 20 per 2 s and states only what is left and the reset (as the reference API); 20 per 20 s is
  // documented. The rules would hold the key 20 s after each burst; the reset says 2 s, and a request sent then is taken.
  for (const counting of ['sliding', 'fixed'] as const) {
    const r = await run(counting, 'quota', { startFrom: [{ limit: 20, windowMs: 20_000 }] });
    report(`documented ten times too long, ${counting}`, r);
    assert.is(r.refused, 0, counting);
    assert.is(r.policy?.source, 'quota', counting);
    assert.match(
      r.learnt[0]?.evidence ?? '',
      /none left, back [23] s on, well before the documented 20 per 20000 ms free the key's oldest request/,
    );
    assert.match(r.learnt[1]?.evidence ?? '', /a request taken at that reset/);
    // Held to the documented rules, 300 requests took 15 windows of 20 s. Following the quota: a sliding log's resets
    // in whole seconds cost up to a second of its 2 s (as with nothing documented); fixed windows, nothing.
    assert.ok(r.ratio < (counting === 'sliding' ? 1.6 : 1.1), `${counting}: ${r.ratio}`);
  }
});

test('startFrom: documented rules ten times the window of a bucket whose burst is their limit: requests left where they hold the key are tried one at a time, and the quota followed', async () => {
  // A bucket of 20 refilled 10 a second, as the reference API compressed: it refills while the key's first 20 go, so no
  // answer says none are left, and the documented 20 per 20 s held the key 20 s after them (the first window's end
  // showed more left than they allow): 300 requests took 79 s where 24 s is the least, against the preset's 60 per 6 s.
  const r = await run('bucket', 'quota', { startFrom: [{ limit: 20, windowMs: 20_000 }] });
  report('documented ten times too long, bucket', r);
  assert.is(r.refused, 0);
  assert.is(r.policy?.source, 'quota');
  assert.match(
    r.learnt[0]?.evidence ?? '',
    /\d+ left, where the documented 20 per 20000 ms hold the key: the quota is followed one request at a time/,
  );
  assert.match(r.learnt[1]?.evidence ?? '', /3 requests sent one at a time found more left than the documented 20 per 20000 ms allow/);
  assert.ok(r.ratio < 1.2, `${r.ratio}`);
});

test('startFrom: a reset stated too soon is tried with one request; refused, the documented rules hold again', async () => {
  const { api, clock, transport, sent, limiter } = harness({ rules: 'auto', startFrom: [{ limit: 2, windowMs: 60_000 }] });
  const resetIn = (s: number) => String(Math.ceil(clock.now() / 1000) + s);
  transport.queue(
    new Response('ok', { headers: { 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': resetIn(60) } }),
    // The rules are right, but this answer states a reset 5 s on.
    new Response('ok', { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetIn(5) } }),
    new Response('slow down', { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetIn(60) } }),
  );
  await api(URL_A);
  await api(URL_A);
  assert.is(limiter.policyOf('https://api.example')?.source, 'quota');
  const calls = [api(URL_A), api(URL_A)];
  await clock.runAll();
  await Promise.all(calls);
  // One request at the reset, refused; the next once the documented rule frees the first.
  const times = sent().map((s) => Number(s.split('@')[1]));
  assert.equal(times.slice(0, 3), [0, 0, 5000]);
  assert.ok((times[3] as number) >= 60_000, sent().join(' '));
  assert.is(limiter.policyOf('https://api.example')?.source, 'documented');
});

test('a 429 stating quota left while others of its endpoint were in flight teaches that endpoint a cap, not a rate', async () => {
  const clock = createTestClock();
  // Two in flight per endpoint where the client is told nothing and allows five: the first 429s say what was refused.
  const server = createMockServer({ clock, concurrency: 2, latencyMs: { min: 50, max: 100 } });
  const limiter = rateLimit({ rules: 'auto', startFrom: [{ limit: 60, windowMs: 60_000 }] });
  const key = demoKeys.find((k) => k.role === 'admin')?.key as string;
  const api = compose([retry429(), authToken({ apiKey: key, baseUrl: ORIGIN }), limiter], { fetch: server.fetch, clock });
  const learnt: SluiceEvents['rate-limit:learned'][] = [];
  api.events.on('rate-limit:learned', (e) => learnt.push(e));
  const paths = ['/v2/event-details?ids=evt_1', '/v2/admin/api-keys'];
  const calls = Array.from({ length: 40 }, (_, i) => api(`${ORIGIN}${paths[i % 2]}`).then((r) => r.status));
  const statuses = await drive(clock, Promise.all(calls), { stepMs: 50 });
  await api.close();
  assert.equal(statuses, Array(40).fill(200), 'the 429s retried');
  const stats = server.stats();
  assert.is(stats.rateLimitedBy.rate, 0, 'no rate 429');
  assert.ok(stats.rateLimitedBy.concurrency <= 6, `${stats.rateLimitedBy.concurrency} concurrency 429s: three at most per endpoint`);
  const policy = limiter.policyOf(await keyFingerprint(key));
  assert.equal(policy, {
    source: 'documented',
    rules: [{ limit: 60, windowMs: 60_000 }],
    concurrency: { '/v2/event-details': 2, '/v2/admin/api-keys': 2 },
  });
  const capped = learnt.filter((e) => e.endpoint);
  assert.ok(capped.length >= 2);
  assert.match(
    capped[0]?.evidence ?? '',
    /a 429 stating \d+ left of the quota while \d requests of \/v2\/\S+ were in flight: at most \d there/,
  );
});

test('a 429 with nothing left of the quota is a rate 429, however many were in flight', async () => {
  const clock = createTestClock();
  let sent = 0;
  // Three at once, each answered 429 with nothing left: the rate, not requests in flight.
  const fetch = async () => {
    const n = ++sent;
    await clock.sleep(100);
    if (n > 3) return new Response('ok');
    const reset = String(Math.ceil((clock.now() + 1000) / 1000));
    return new Response('no', { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset } });
  };
  const limiter = rateLimit({ rules: 'auto', startFrom: [{ limit: 10, windowMs: 60_000 }] });
  const api = compose([limiter], { fetch, clock });
  const learnt: SluiceEvents['rate-limit:learned'][] = [];
  api.events.on('rate-limit:learned', (e) => learnt.push(e));
  const statuses = await drive(clock, Promise.all(Array.from({ length: 3 }, () => api(`${ORIGIN}/v2/items`).then((r) => r.status))));
  await api.close();
  assert.equal(statuses, [429, 429, 429]);
  assert.is(learnt.filter((e) => e.endpoint).length, 0, 'no cap learnt');
  assert.is(limiter.policyOf(ORIGIN)?.concurrency, undefined);
});

test('startFrom needs rules: auto, and is checked like rules', () => {
  assert.throws(
    () => rateLimit({ rules: [{ limit: 1, windowMs: 1000 }], startFrom: [{ limit: 1, windowMs: 1000 }] }),
    /`startFrom` goes with `rules: 'auto'`/,
  );
  assert.throws(
    () => rateLimit({ rules: 'auto', startFrom: [{ limit: 0, windowMs: 1000 }] }),
    /`startFrom\[0\]\.limit` must be an integer >= 1/,
  );
});

test("rules: 'auto' with a store that cannot take learnt rules is refused with a clear TypeError", () => {
  const shared: RateLimitStore = { acquire: () => ({ ok: false, retryAt: 0, blocked: 'key' }), pause: () => 0 };
  assert.throws(
    () => rateLimit({ rules: 'auto', store: shared }),
    (e: Error) => e instanceof TypeError && /learnt rules/.test(e.message),
  );
  rateLimit({ rules: 'auto', store: createMemoryStore() });
});

test.run();
