import { compose } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { defaults, rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { harness, keyId, URL_A } from './harness.js';
import { createServer, seeded } from './models.js';

test('defaults follow the reference API: 60 per minute per key, 5 in flight per endpoint', () => {
  assert.equal(defaults.rules, [{ limit: 60, windowMs: 60_000 }]);
  assert.is(defaults.concurrency, 5);
  assert.ok(Object.isFrozen(defaults));
});

test('keys on the keyId auth-token sets, so two keys on one origin do not share a limit', async () => {
  const one = { rules: [{ limit: 1, windowMs: 60_000 }] };
  const a = harness(one, [keyId('key-a')]);
  await a.api(URL_A);
  const waits = track(a.api(URL_A));
  await a.clock.flush();
  assert.is(waits.settled(), false);
  assert.equal(a.of('rate-limit:queued')[0]?.key, 'key-a');
  const b = harness(one, [keyId('key-b')]);
  await b.api(URL_A);
});

test('without a keyId, keys on the origin', async () => {
  const { api, clock, sent } = harness({ rules: [{ limit: 1, windowMs: 60_000 }] });
  await api('https://one.example/v2/a');
  await api('https://two.example/v2/a');
  const third = track(api('https://one.example/v2/b'));
  await clock.flush();
  assert.is(third.settled(), false);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@0']);
  await clock.runAll();
});

test('counts concurrency per URL path, whatever the query', async () => {
  const { api, clock, transport, of } = harness({ concurrency: 1 });
  transport.fallback(async () => {
    await clock.sleep(100);
    return new Response('ok');
  });
  const calls = [api(`${URL_A}?page=1`), api(`${URL_A}?page=2`), api(`${URL_A}/more`)];
  await clock.flush();
  assert.equal(of('rate-limit:queued'), [{ key: 'https://api.example', endpoint: '/v2/a', queued: 1 }]);
  await clock.runAll();
  await Promise.all(calls);
});

test('takes key and endpoint functions', async () => {
  const { api, clock, of } = harness({
    concurrency: 1,
    key: (request) => request.headers.get('x-tenant') ?? 'none',
    endpoint: (request) => `${request.method} ${new URL(request.url).pathname.split('/')[2]}`,
  });
  const calls = [api(URL_A, { headers: { 'x-tenant': 't1' } }), api(`${URL_A}/deeper`, { method: 'GET', headers: { 'x-tenant': 't1' } })];
  await clock.flush();
  assert.equal(of('rate-limit:queued'), [{ key: 't1', endpoint: 'GET a', queued: 1 }]);
  await Promise.all(calls);
  assert.equal(
    of('rate-limit:acquired').map((e) => [e.key, e.endpoint]),
    [
      ['t1', 'GET a'],
      ['t1', 'GET a'],
    ],
  );
});

test('rejects invalid options, naming the option', () => {
  const bad: [object, string][] = [
    [{ concurrency: 0 }, '`concurrency` must be an integer >= 1, got 0'],
    [{ concurrency: 1.5 }, '`concurrency` must be an integer >= 1, got 1.5'],
    [{ maxQueue: -1 }, '`maxQueue` must be an integer >= 0, got -1'],
    [{ maxWaitMs: Number.NaN }, '`maxWaitMs` must be a number >= 0, got NaN'],
    [{ marginMs: -5 }, '`marginMs` must be a number >= 0, got -5'],
    [{ leaseMs: 0 }, '`leaseMs` must be a number >= 1, got 0'],
    [{ rules: [{ limit: 0, windowMs: 1000 }] }, '`rules[0].limit` must be an integer >= 1, got 0'],
    [{ rules: [{ limit: 1, windowMs: 1000 }, { limit: 5 }] }, '`rules[1].windowMs` must be a number >= 1, got undefined'],
    [{ rules: [{ limit: 1.5, windowMs: 1000 }] }, '`rules[0].limit` must be an integer >= 1, got 1.5'],
    [{ rules: [{ limit: 1, windowMs: 1000, jitterMs: -1 }] }, '`rules[0].jitterMs` must be a number >= 0, got -1'],
  ];
  for (const [options, message] of bad)
    assert.throws(
      () => rateLimit(options),
      (e: Error) => e instanceof RangeError && e.message === message,
    );
  assert.throws(() => rateLimit({ rules: 'fast' as never }), TypeError);
});

test('a rule with an infinite limit holds nothing back', async () => {
  const { api, clock, sent } = harness({
    rules: [{ limit: Number.POSITIVE_INFINITY, windowMs: 1000 }],
    concurrency: Number.POSITIVE_INFINITY,
  });
  await Promise.all(Array.from({ length: 100 }, () => api(URL_A)));
  assert.is(sent().length, 100);
  assert.is(clock.pending, 0);
});

test('leaves the caller options untouched and treats undefined as the default', () => {
  const options = { concurrency: undefined, rules: [{ limit: 2, windowMs: 1000 }] };
  const copy = structuredClone(options);
  rateLimit(options);
  assert.equal(options, copy);
});

test('several rules hold at once: a 1-per-second gateway in front of 60 per minute sees no 429', async () => {
  const clock = createTestClock();
  const random = seeded(42);
  const gateway = createServer({ clock, counting: 'sliding', random, limit: 1, windowMs: 1000, latency: [5, 60], headers: false });
  const api = compose(
    [
      rateLimit({
        rules: [
          { limit: 60, windowMs: 60_000 },
          { limit: 1, windowMs: 1000, jitterMs: 60 },
        ],
      }),
    ],
    {
      fetch: gateway.fetch,
      clock,
    },
  );
  const calls = Array.from({ length: 120 }, (_, i) => api(`https://api.example/v2/ep${i % 3}`));
  await clock.runAll();
  const responses = await Promise.all(calls);
  assert.ok(responses.every((r) => r.status === 200));
  assert.is(gateway.refused, 0);
  const arrivals = gateway.arrivals;
  for (let i = 1; i < arrivals.length; i++) assert.ok((arrivals[i] as number) - (arrivals[i - 1] as number) >= 1000);
  // Each request waits the gateway's second plus at most jitterMs after the one before.
  assert.ok((arrivals.at(-1) as number) - (arrivals[0] as number) <= 119 * 1060);
});

test.run();
