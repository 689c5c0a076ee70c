import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { harness, keyId, URL_A, URL_B } from './harness.js';

const seconds = (ms: number) => String(Math.floor(ms / 1000));

test('a 429 pauses the whole key until its Retry-After', async () => {
  const { api, clock, transport, sent, of, t0 } = harness();
  transport.queue(new Response('slow down', { status: 429, headers: { 'retry-after': '30' } }));
  const refused = await api(URL_A);
  assert.is(refused.status, 429);
  const calls = [api(URL_A), api(URL_B)];
  await clock.advance(29_999);
  assert.equal(sent(), ['/v2/a@0']);
  await clock.advance(1);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@30000']);
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(of('rate-limit:paused'), [{ key: 'https://api.example', until: t0 + 30_000, delayMs: 30_000, reason: '429' }]);
});

test("a 403 that says it refused for the rate (GitHub's, with Retry-After) pauses the key as a 429; a 403 for permissions does not", async () => {
  const { api, clock, transport, sent, of, t0 } = harness();
  transport.queue(new Response(null, { status: 403 }), new Response('slow down', { status: 403, headers: { 'retry-after': '30' } }));
  await api(URL_A);
  await api(URL_A);
  const call = api(URL_B);
  await clock.runAll();
  await call;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@0', '/v2/b@30000']);
  assert.equal(of('rate-limit:paused'), [{ key: 'https://api.example', until: t0 + 30_000, delayMs: 30_000, reason: '429' }]);
});

test('after a 429 pause the key resumes one request at a time, paced at the rule rate', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 6, windowMs: 6000 }] });
  transport.queue(new Response(null, { status: 429, headers: { 'retry-after': '10' } }));
  await api(URL_A);
  const calls = Array.from({ length: 4 }, () => api(URL_B));
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@10000', '/v2/b@11000', '/v2/b@12000', '/v2/b@13000']);
});

test('a 429 asking for less than the reset its headers give pauses until the reset', async () => {
  const { api, clock, transport, sent, of, t0 } = harness();
  transport.queue(
    new Response(null, {
      status: 429,
      headers: { 'retry-after': '1', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': seconds(t0 + 40_000) },
    }),
  );
  await api(URL_A);
  const next = api(URL_A);
  await clock.runAll();
  await next;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@40000']);
  assert.equal(of('rate-limit:paused'), [{ key: 'https://api.example', until: t0 + 40_000, delayMs: 40_000, reason: '429' }]);
});

test('a 429 without Retry-After or reset pauses the key for the longest window', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 100, windowMs: 20_000 }] });
  transport.queue(new Response(null, { status: 429 }));
  await api(URL_A);
  const next = api(URL_A);
  await clock.runAll();
  await next;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@20000']);
});

test('X-RateLimit-Remaining: 0 with X-RateLimit-Reset pauses the key until the reset', async () => {
  const { api, clock, transport, sent, of, t0 } = harness();
  transport.queue(new Response('ok', { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': seconds(t0 + 20_000) } }));
  await api(URL_A);
  const calls = [api(URL_A), api(URL_B)];
  await clock.advance(19_999);
  assert.equal(sent(), ['/v2/a@0']);
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@20000', '/v2/b@20000']);
  assert.equal(of('rate-limit:paused'), [{ key: 'https://api.example', until: t0 + 20_000, delayMs: 20_000, reason: 'remaining' }]);
});

test('after a remaining-0 pause one request goes first, the rest after its response', async () => {
  const { api, clock, transport, sent, t0 } = harness();
  transport.queue(new Response('ok', { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': seconds(t0 + 20_000) } }));
  transport.queue(async () => {
    await clock.sleep(300);
    return new Response('ok', { headers: { 'x-ratelimit-remaining': '59', 'x-ratelimit-reset': seconds(t0 + 80_000) } });
  });
  await api(URL_A);
  const calls = [api(URL_A), api(URL_B), api(URL_B)];
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@20000', '/v2/b@20300', '/v2/b@20300']);
});

test('never plans more requests than the server says remain until the reset', async () => {
  const { api, clock, transport, sent, t0 } = harness({ rules: [{ limit: 100, windowMs: 60_000 }] });
  transport.queue(new Response('ok', { headers: { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': seconds(t0 + 30_000) } }));
  await api(URL_A);
  const calls = Array.from({ length: 6 }, () => api(URL_B));
  await clock.advance(29_999);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@0', '/v2/b@0', '/v2/b@0']);
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent().slice(4), ['/v2/b@30000', '/v2/b@30000', '/v2/b@30000']);
});

test('counts requests already sent against what the server says remains', async () => {
  const { api, clock, transport, sent, t0 } = harness({ rules: [{ limit: 100, windowMs: 60_000 }], concurrency: 10 });
  // The first response arrives after two more requests were sent: of its 3 remaining, 1 is left.
  transport.queue(async () => {
    await clock.sleep(100);
    return new Response('ok', { headers: { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': seconds(t0 + 30_000) } });
  });
  const first = api(URL_A);
  await clock.advance(50);
  const early = [api(URL_A), api(URL_A)];
  await clock.advance(100);
  const late = [api(URL_B), api(URL_B)];
  await clock.advance(1000);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@50', '/v2/a@50', '/v2/b@150']);
  await clock.runAll();
  await Promise.all([first, ...early, ...late]);
  assert.equal(sent().at(-1), '/v2/b@30000');
});

test('honours the IETF RateLimit and RateLimit-Policy headers', async () => {
  const { api, clock, transport, sent } = harness();
  transport.queue(new Response('ok', { headers: { ratelimit: '"default";r=2;t=10', 'ratelimit-policy': '"default";q=100;w=60' } }));
  await api(URL_A);
  const calls = Array.from({ length: 4 }, () => api(URL_B));
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@0', '/v2/b@0', '/v2/b@10000', '/v2/b@10000']);
});

test('an IETF remaining without a reset holds for the policy window', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 100, windowMs: 60_000 }] });
  transport.queue(new Response('ok', { headers: { ratelimit: '"default";r=1', 'ratelimit-policy': '"default";q=100;w=5' } }));
  await api(URL_A);
  const calls = Array.from({ length: 2 }, () => api(URL_B));
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@0', '/v2/b@5000']);
});

test('an X-RateLimit-Remaining of 0 without a reset, under rules of a minute and a day, holds the key a minute, not a day', async () => {
  const rules = [
    { limit: 100, windowMs: 60_000 },
    { limit: 1000, windowMs: 86_400_000 },
  ];
  const { api, clock, transport, sent, of, t0 } = harness({ rules });
  // Spent by someone else: the key sent one request, and none is left. Of which quota, the answer does not say.
  transport.queue(new Response('ok', { headers: { 'x-ratelimit-remaining': '0' } }));
  await api(URL_A);
  const calls = Array.from({ length: 2 }, () => api(URL_B));
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(of('rate-limit:paused'), [{ key: 'https://api.example', until: t0 + 60_000, delayMs: 60_000, reason: 'remaining' }]);
  assert.equal(sent(), ['/v2/a@0', '/v2/b@60000', '/v2/b@60000']);
});

test('pauses the key when rate-limit:exceeded is announced on the bus', async () => {
  const { api, clock, sent, of, t0 } = harness({}, [keyId('key-1')]);
  api.events.emit('rate-limit:exceeded', { keyId: 'key-1', retryAfterMs: 5000, method: 'GET', url: URL_A });
  const call = api(URL_B);
  await clock.runAll();
  await call;
  assert.equal(sent(), ['/v2/b@5000']);
  assert.equal(of('rate-limit:paused'), [{ key: 'key-1', until: t0 + 5000, delayMs: 5000, reason: '429' }]);
});

test('a pause for one key leaves other keys alone', async () => {
  const { api, clock, sent } = harness();
  api.events.emit('rate-limit:exceeded', { keyId: undefined, retryAfterMs: 5000, method: 'GET', url: URL_A });
  await api('https://other.example/v2/a');
  const paused = track(api(URL_A));
  await clock.flush();
  assert.is(paused.settled(), false);
  assert.equal(sent(), ['/v2/a@0']);
  await clock.runAll();
  await paused.promise;
});

test('the same 429 seen twice (response, then bus) pauses once', async () => {
  const { api, clock, transport, of, t0 } = harness();
  transport.queue(new Response(null, { status: 429, headers: { 'retry-after': '7' } }));
  await api(URL_A);
  api.events.emit('rate-limit:exceeded', { keyId: undefined, retryAfterMs: 7000, method: 'GET', url: URL_A });
  await clock.runAll();
  assert.equal(
    of('rate-limit:paused').map((e) => e.until),
    [t0 + 7000],
  );
});

test.run();
