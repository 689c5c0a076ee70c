// rules: 'auto' against a server that names the quota each answer was counted against (GitHub's X-RateLimit-Resource:
// `core` and `search` are counted apart under one token): each named quota is learnt and counted under a key of its
// own, so a small quota never holds back the requests of a large one. On the virtual clock.
import { compose, type SluiceEvents } from '@sluice/core';
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from '../helpers/index.js';
import { autoBurst } from './auto-burst.js';
import { CORE_QUOTA, createServer, perEndpointQuotas, reform, SEARCH_QUOTA, seeded, twoQuotas } from './models.js';

const ORIGIN = 'https://api.example';
function pipeline(clock: TestClock, fetch: (request: Request) => Promise<Response>) {
  const limiter = rateLimit({ rules: 'auto', maxQueue: 10_000 });
  const api = compose([limiter], { fetch, clock });
  const events: { learnt: SluiceEvents['rate-limit:learned'][]; paused: SluiceEvents['rate-limit:paused'][] } = { learnt: [], paused: [] };
  api.events.on('rate-limit:learned', (e) => events.learnt.push(e));
  api.events.on('rate-limit:paused', (e) => events.paused.push(e));
  return { limiter, api, events };
}

test('auto, two quotas the server names: the large one is never held back by the small one, each at its own rate, 0 429s', async () => {
  const clock = createTestClock();
  const { quotas, fetch } = twoQuotas(clock);
  const { limiter, api, events } = pipeline(clock, fetch);
  const t0 = clock.now();
  const done = { core: t0, search: t0 };
  const calls = [
    ...Array.from({ length: 30 }, () => api(`${ORIGIN}/search/code`).then(() => (done.search = clock.now()))),
    ...Array.from({ length: 300 }, (_, i) => api(`${ORIGIN}/repos/o/r/e${i % 3}`).then(() => (done.core = clock.now()))),
  ];
  await drive(clock, Promise.all(calls), { stepMs: 10 });
  await api.close();
  assert.is(quotas.core.refused + quotas.search.refused, 0);
  // 300 requests at five in flight per endpoint, round trips of 40 to 80 ms: about two seconds, and no wait for search.
  assert.ok(done.core - t0 < 5000, `core took ${done.core - t0} ms`);
  // 30 searches at 10 per fixed 10 s window: the third window's, just after 20 s.
  assert.ok(done.search - t0 >= 20_000 && done.search - t0 < 22_000, `search took ${done.search - t0} ms`);
  const keys = new Set(events.learnt.map((e) => e.key));
  assert.ok(keys.has(`${ORIGIN}#core`) && keys.has(`${ORIGIN}#search`), [...keys].join(', '));
  // Under the key itself only where its requests go: no rate learnt from the two quotas mixed.
  for (const e of events.learnt.filter((e) => e.key === ORIGIN)) assert.is(e.policy?.source, 'named', e.evidence);
  assert.equal(limiter.policyOf(ORIGIN)?.quotas, { fallback: 'core', endpoints: { '/search/code': 'search' } });
  // The search quota's limit, and none of it mixed into core's.
  for (const rule of limiter.policyOf(`${ORIGIN}#search`)?.rules ?? []) assert.is(rule.limit, SEARCH_QUOTA.limit);
  for (const rule of limiter.policyOf(`${ORIGIN}#core`)?.rules ?? []) assert.is(rule.limit, CORE_QUOTA.limit);
});

test("an endpoint not seen yet goes under its key's most used quota; a 429 counted against another pauses that one only", async () => {
  const clock = createTestClock();
  const { quotas, sentAt, fetch } = twoQuotas(clock);
  const { api, events } = pipeline(clock, fetch);
  // Core is known first, over three endpoints.
  await drive(clock, Promise.all(Array.from({ length: 6 }, (_, i) => api(`${ORIGIN}/repos/o/r/e${i % 3}`))), { stepMs: 10 });
  // Someone else spent the search quota: its window ends at the next 10 s boundary.
  for (let i = 0; i < SEARCH_QUOTA.limit; i++)
    await drive(clock, quotas.search.fetch(new Request(`${ORIGIN}/search/code`)), { stepMs: 10 });
  const searchSentBefore = sentAt.search.length;
  // The first search goes under core's quota (its endpoint is not known), and is refused.
  const first = await drive(clock, api(`${ORIGIN}/search/code`), { stepMs: 10 });
  assert.is(first.status, 429);
  const pause = events.paused.at(-1);
  assert.is(pause?.key, `${ORIGIN}#search`);
  const refusedAt = clock.now();
  // Core goes on at once; the next search waits for the search quota's pause.
  const core = await drive(clock, api(`${ORIGIN}/repos/o/r/e0`), { stepMs: 10 });
  assert.is(core.status, 200);
  assert.ok(clock.now() - refusedAt < 200, `core waited ${clock.now() - refusedAt} ms`);
  const second = await drive(clock, api(`${ORIGIN}/search/code`), { stepMs: 10 });
  assert.is(second.status, 200);
  assert.ok((sentAt.search.at(-1) as number) >= (pause?.until as number), 'the second search went after the pause');
  assert.is(sentAt.search.length - searchSentBefore, 2);
  assert.is(quotas.search.refused, 1);
  await api.close();
});

test('an endpoint not seen yet, held back by the most used quota, goes at once as a scout under the key itself', async () => {
  const clock = createTestClock();
  const { quotas, sentAt, fetch } = twoQuotas(clock, 'x-ratelimit-resource', { limit: 4, windowMs: 60_000 });
  const { limiter, api } = pipeline(clock, fetch);
  // Core's quota of 4 a minute is spent: a fifth core request waits for the next minute.
  await drive(clock, Promise.all(Array.from({ length: 4 }, (_, i) => api(`${ORIGIN}/repos/o/r/e${i % 2}`))), { stepMs: 10 });
  const waiting = api(`${ORIGIN}/repos/o/r/e0`);
  const asked = clock.now();
  // Search's first request would go under core, which holds it back: it goes under the key itself, at once.
  const search = await drive(clock, api(`${ORIGIN}/search/code`), { stepMs: 10 });
  assert.is(search.status, 200);
  assert.ok((sentAt.search[0] as number) - asked < 100, `the search went ${(sentAt.search[0] as number) - asked} ms after it was asked`);
  assert.equal(limiter.policyOf(ORIGIN)?.quotas, { fallback: 'core', endpoints: { '/search/code': 'search' } });
  assert.is((await drive(clock, waiting, { stepMs: 10 })).status, 200);
  // It went for the next fixed minute (counted on arrival, 20 to 40 ms after its send).
  const nextMinute = (Math.floor((sentAt.core[0] as number) / 60_000) + 1) * 60_000;
  assert.ok((sentAt.core.at(-1) as number) >= nextMinute - 40, 'the fifth core request waited for the next minute');
  assert.is(quotas.core.refused + quotas.search.refused, 0);
  await api.close();
});

test("Discord's X-RateLimit-Bucket names quotas the same way", async () => {
  const clock = createTestClock();
  const { quotas, fetch } = twoQuotas(clock, 'x-ratelimit-bucket');
  const { api, events } = pipeline(clock, fetch);
  let coreDone = 0;
  const calls = [
    ...Array.from({ length: 20 }, () => api(`${ORIGIN}/search/code`)),
    ...Array.from({ length: 60 }, (_, i) => api(`${ORIGIN}/channels/c${i % 3}`).then(() => (coreDone = clock.now()))),
  ];
  const t0 = clock.now();
  await drive(clock, Promise.all(calls), { stepMs: 10 });
  await api.close();
  assert.is(quotas.core.refused + quotas.search.refused, 0);
  assert.ok(coreDone - t0 < 2000, `core took ${coreDone - t0} ms`);
  assert.ok(events.learnt.some((e) => e.key === `${ORIGIN}#search`));
});

test('an IETF partition key names the quota too: two resources each allocated their own, each at its own pace, 0 429s', async () => {
  const clock = createTestClock();
  // 10 per 2 s for each resource, announced as RateLimit-Policy with the resource's partition key.
  const { servers, fetch: perResource } = perEndpointQuotas(clock, 'fixed', [10, 10], 2000, 'ietf');
  const fetch = async (request: Request) => {
    const response = await perResource(request);
    const headers = new Headers(response.headers);
    const pk = btoa(new URL(request.url).pathname);
    headers.set('ratelimit-policy', `"per-resource";q=10;w=2;pk=:${pk}:`);
    return new Response(response.body, { status: response.status, headers });
  };
  const { limiter, tookMs } = await autoBurst(
    clock,
    fetch,
    Array.from({ length: 100 }, (_, i) => `${ORIGIN}/v2/e${i % 2}`),
  );
  assert.equal(
    servers.map((s) => s.refused),
    [0, 0],
  );
  // 50 requests per resource at 10 per 2 s: the fifth window's, as each resource goes at its own pace (as one quota,
  // the two shared 10 per 2 s: the tenth window's).
  assert.ok(tookMs < 10_000, `${tookMs} ms`);
  const quotas = limiter.policyOf(ORIGIN)?.quotas;
  assert.ok(quotas && /^pk-[0-9a-f]{8}$/.test(quotas.fallback), JSON.stringify(quotas));
});

test('a server that names no quota is counted as one key, as before', async () => {
  const clock = createTestClock();
  const server = createServer({ clock, counting: 'fixed', random: seeded(3), ...SEARCH_QUOTA, latency: [20, 40], concurrency: 100 });
  const fetch = async (request: Request) =>
    reform(await server.fetch(request), 'x-ratelimit', SEARCH_QUOTA.limit, SEARCH_QUOTA.windowMs, clock.now());
  const { limiter, api, events } = pipeline(clock, fetch);
  await drive(clock, Promise.all(Array.from({ length: 25 }, (_, i) => api(`${ORIGIN}/x/e${i % 3}`))), { stepMs: 10 });
  await api.close();
  assert.is(server.refused, 0);
  assert.ok(events.learnt.every((e) => e.key === ORIGIN));
  assert.ok(limiter.policyOf(ORIGIN), 'learnt under the key itself');
});

test.run();
