import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { errorOf, READ_ONLY_KEY, setup } from './helpers.js';

/** A harness with a token in hand and 1 s of latency to hold requests open. */
async function holding(options: Parameters<typeof setup>[0] = {}) {
  const h = setup({ limit: 1000, ...options });
  const t = await h.token();
  h.server.setLatency(1000);
  return { ...h, t };
}

test('allows 5 requests in flight per endpoint per key and answers the 6th 429', async () => {
  const { list, clock, server, t } = await holding();
  const held = Array.from({ length: 5 }, () => track(list(t)));
  await clock.flush();
  assert.is(server.stats().inFlight, 5);
  const sixth = track(list(t));
  await clock.advance(1000);
  const answers = await Promise.all(held.map((h) => h.promise));
  assert.equal(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  const refused = await sixth.promise;
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '1');
  assert.is((await errorOf(refused)).code, 'too_many_concurrent_requests');
  const stats = server.stats();
  assert.equal([stats.peakConcurrency['/v2/incidents/list'], stats.rateLimitedBy.concurrency, stats.inFlight], [5, 1, 0]);
});

test('frees a slot when a request completes', async () => {
  const { list, clock, t } = await holding();
  const first = Array.from({ length: 5 }, () => track(list(t)));
  await clock.advance(1000);
  await Promise.all(first.map((h) => h.promise));
  const next = track(list(t));
  await clock.advance(1000);
  assert.is((await next.promise).status, 200);
});

test('frees a slot when the caller aborts', async () => {
  const { list, send, clock, server, t } = await holding();
  const controller = new AbortController();
  const aborted = track(send('POST', '/v2/incidents/list', { token: t, body: {}, signal: controller.signal }));
  const others = Array.from({ length: 4 }, () => track(list(t)));
  await clock.flush();
  controller.abort();
  await rejects(aborted.promise, (e) => (e as Error).name === 'AbortError');
  assert.is(server.stats().inFlight, 4);
  const replacement = track(list(t));
  await clock.advance(1000);
  assert.is((await replacement.promise).status, 200);
  await Promise.all(others.map((h) => h.promise));
});

test('counts the cap per endpoint and per key', async () => {
  const { list, send, clock, server, t } = await holding();
  server.setLatency(0);
  const reader = await (async () => {
    const r = await send('POST', '/v2/auth/token/access', { body: { api_key: READ_ONLY_KEY } });
    return ((await r.json()) as { access_token: string }).access_token;
  })();
  server.setLatency(1000);
  const held = Array.from({ length: 5 }, () => track(list(t)));
  const otherEndpoint = track(send('GET', '/v2/event-details?ids=evt_000001_1', { token: t }));
  const otherKey = track(list(reader));
  await clock.advance(1000);
  assert.is((await otherEndpoint.promise).status, 200);
  assert.is((await otherKey.promise).status, 200);
  await Promise.all(held.map((h) => h.promise));
});

test("scope 'path' counts GET and POST on one path together; 'method+path' apart", async () => {
  for (const [scope, expected] of [
    ['path', 429],
    ['method+path', 200],
  ] as const) {
    const { send, clock, t } = await holding({ concurrencyScope: scope });
    const held = Array.from({ length: 5 }, () => track(send('GET', '/v2/event-details?ids=evt_000001_1', { token: t })));
    const post = track(send('POST', '/v2/event-details', { token: t, body: { ids: ['evt_000001_1'] } }));
    await clock.advance(1000);
    assert.is((await post.promise).status, expected, scope);
    await Promise.all(held.map((h) => h.promise));
  }
});

test("scope 'route' counts /v2/event-details/{ids} as one endpoint; 'path' as many", async () => {
  for (const [scope, expected] of [
    ['route', 429],
    ['path', 200],
  ] as const) {
    const { send, clock, server, t } = await holding({ concurrencyScope: scope });
    const held = [1, 2, 3, 4, 5].map((n) => track(send('GET', `/v2/event-details/evt_00000${n}_1`, { token: t })));
    const sixth = track(send('GET', '/v2/event-details/evt_000006_1', { token: t }));
    await clock.advance(1000);
    assert.is((await sixth.promise).status, expected, scope);
    await Promise.all(held.map((h) => h.promise));
    if (scope === 'route') assert.is(server.stats().peakConcurrency['/v2/event-details/{ids}'], 5);
  }
});

test('the cap is configurable', async () => {
  const { list, clock, t } = await holding({ concurrency: 2 });
  const held = [track(list(t)), track(list(t))];
  const third = track(list(t));
  await clock.advance(1000);
  assert.is((await third.promise).status, 429);
  await Promise.all(held.map((h) => h.promise));
});

test('close() ends pending waits with 503 and answers 503 afterwards', async () => {
  const { list, clock, server, t } = await holding();
  const pending = track(list(t));
  await clock.flush();
  await server.close();
  await clock.flush();
  assert.is((await pending.promise).status, 503);
  assert.is((await list(t)).status, 503);
  assert.is(server.stats().inFlight, 0);
});

test.run();
