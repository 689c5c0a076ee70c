// rules: 'auto' against a server that states a quota per endpoint without naming it (an API gateway's per-route limits,
// an API with a limit per method): once two endpoints are seen stating their own quotas side by side, each quota stated
// is learnt and counted apart. A quota that changes for the whole key (a plan upgraded) is never taken for several.
// On the virtual clock.
import { createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createStatedQuotas, type StatedAnswer, statedQuotaName } from '../../packages/rate-limit/src/stated-quotas.js';
import { autoBurst } from './auto-burst.js';
import { type Counting, createServer, type Evidence, minimumCompletion, perEndpointQuotas, reform, seeded } from './models.js';

const ORIGIN = 'https://api.example';
const WINDOW_MS = 2000;
// The models' latency each way (`perEndpointQuotas`).
const LATENCY: [number, number] = [20, 40];

test('statedQuotaName: the limit, and each window where stated; none past 64 characters', () => {
  assert.is(statedQuotaName(300, undefined, []), 'stated-300');
  assert.is(statedQuotaName(300, 900_000, []), 'stated-300w900000');
  const announced = [
    { limit: 1000, windowMs: 86_400_000 },
    { limit: 10, windowMs: 1000 },
  ];
  assert.is(statedQuotaName(10, undefined, announced), 'stated-10w1000.1000w86400000');
  assert.is(statedQuotaName(undefined, undefined, []), undefined);
  const many = Array.from({ length: 8 }, (_, i) => ({ limit: 100 + i, windowMs: 60_000 * (i + 1) }));
  assert.is(statedQuotaName(undefined, undefined, many), undefined);
});

/** An answer stating the quota `name` ("stated-<limit>"). */
const of = (name: string, sentAt: number, at: number): StatedAnswer => ({
  sentAt,
  at,
  limit: Number(name.slice('stated-'.length)),
  announced: [],
});

test('two endpoints stating their own quotas side by side, three answers each: several quotas from then on, each endpoint moved by three answers in a row', () => {
  const stated = createStatedQuotas();
  let t = 0;
  const answer = (endpoint: string, name: string) => {
    t += 100;
    return stated.observe('k', endpoint, of(name, t - 50, t));
  };
  for (let i = 0; i < 2; i++) {
    assert.is(answer('/a', 'stated-10'), undefined);
    assert.is(answer('/b', 'stated-20'), undefined);
  }
  assert.is(answer('/a', 'stated-10'), undefined, "/b's run has two answers yet");
  assert.is(answer('/b', 'stated-20'), 'stated-20');
  assert.is(answer('/a', 'stated-10'), 'stated-10');
  assert.is(answer('/c', 'stated-20'), 'stated-20');
  // Another key is watched apart.
  assert.is(stated.observe('other', '/a', of('stated-10', t, t + 1)), undefined);
  // One odd answer moves no endpoint to another quota; three in a row do.
  assert.is(answer('/a', 'stated-1000'), 'stated-10');
  assert.is(answer('/a', 'stated-10'), 'stated-10');
  assert.is(answer('/a', 'stated-40'), 'stated-10');
  assert.is(answer('/a', 'stated-40'), 'stated-10');
  assert.is(answer('/a', 'stated-40'), 'stated-40');
  assert.is(answer('/a', 'stated-10'), 'stated-40');
});

test('a quota that changes once for the whole key (a plan upgraded) is never taken for several, however answers interleave', () => {
  const stated = createStatedQuotas();
  let t = 0;
  const endpoints = ['/a', '/b', '/c'];
  // Requests overlap (each sent 300 ms before its answer, one answer every 100 ms): the change at 2 s reaches endpoints
  // in any order, and answers to requests sent before it still state the old quota after others stated the new one.
  for (let i = 0; i < 60; i++) {
    t += 100;
    const sentAt = t - 300;
    const name = sentAt < 2000 ? 'stated-60' : 'stated-120';
    assert.is(stated.observe('k', endpoints[i % 3] as string, of(name, sentAt, t)), undefined, `answer ${i}`);
  }
  // Endpoints that all state the same quota are one quota.
  for (let i = 0; i < 30; i++)
    assert.is(stated.observe('same', endpoints[i % 3] as string, of('stated-60', i * 100, i * 100 + 50)), undefined);
});

async function burst(counting: Counting, limits: number[], evidence: Evidence, perEndpointCount: number) {
  const clock = createTestClock();
  const t0 = clock.now();
  const { servers, fetch } = perEndpointQuotas(clock, counting, limits, WINDOW_MS, evidence);
  const urls = Array.from({ length: perEndpointCount * limits.length }, (_, i) => `${ORIGIN}/v2/e${i % limits.length}`);
  const { limiter, learnt, tookMs } = await autoBurst(clock, fetch, urls);
  const refused = servers.reduce((sum, s) => sum + s.refused, 0);
  // The endpoint that takes longest, alone, at the least latency.
  const issues = Array.from({ length: perEndpointCount }, () => t0);
  const least = Math.max(...limits.map((limit) => minimumCompletion(counting, issues, limit, WINDOW_MS, LATENCY[0]) - t0));
  return { refused, tookMs, least, policy: limiter.policyOf(ORIGIN), learnt };
}

for (const counting of ['fixed', 'sliding', 'bucket'] as const)
  test(`auto, ${counting} quotas per endpoint stated as X-RateLimit-* (10, 20 and 40 per 2 s): each counted apart, 0 429s`, async () => {
    const { refused, tookMs, least, policy, learnt } = await burst(counting, [10, 20, 40], 'x-ratelimit', 100);
    assert.is(refused, 0);
    assert.is(policy?.source, 'named');
    const split = learnt.find((e) => e.key === ORIGIN && e.policy?.source === 'named');
    assert.match(split?.evidence ?? '', /^endpoints state quotas of their own side by side, named after what they state: /);
    const names = new Set([policy?.quotas?.fallback, ...Object.values(policy?.quotas?.endpoints ?? {})]);
    assert.equal([...names].sort(), ['stated-10', 'stated-20', 'stated-40']);
    // As one quota, the 10 per 2 s endpoint's quota held back the others (or they spent its quota): 429s, or 2.8x.
    assert.ok(tookMs < 1.5 * least, `${tookMs} ms, least ${least} ms`);
  });

test('auto, quotas per endpoint announced as RateLimit-Policy: each counted apart, at most one 429 as the key splits', async () => {
  const { refused, tookMs, least, policy } = await burst('fixed', [10, 20, 40], 'ietf', 100);
  // Requests still on their way under the key when it splits are not counted in the quota they come back under.
  assert.ok(refused <= 1, `${refused} 429s`);
  assert.is(policy?.source, 'named');
  // Learnt as one key, the tightest policy announced (10 per 2 s) held all three: 51 s here.
  assert.ok(tookMs < 1.3 * least, `${tookMs} ms, least ${least} ms`);
});

test('auto, one quota for the whole key stated by every endpoint: learnt as one, never split', async () => {
  const clock = createTestClock();
  const server = createServer({
    clock,
    counting: 'fixed',
    random: seeded(3),
    limit: 20,
    windowMs: WINDOW_MS,
    latency: LATENCY,
    concurrency: 100,
  });
  // The plan is upgraded at 5 s: 40 per window stated from then on, at every endpoint.
  const upgradeAt = clock.now() + 5000;
  const fetch = async (request: Request) => {
    const response = await server.fetch(request);
    return reform(response, 'x-ratelimit', clock.now() < upgradeAt ? 20 : 40, WINDOW_MS, clock.now());
  };
  const { limiter } = await autoBurst(
    clock,
    fetch,
    Array.from({ length: 300 }, (_, i) => `${ORIGIN}/v2/e${i % 3}`),
  );
  assert.is.not(limiter.policyOf(ORIGIN)?.source, 'named');
  assert.is(limiter.policyOf(`${ORIGIN}#stated-20`), undefined);
});

test.run();
