import { demoKeys, type MockServer } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, isTokenExchange, sluice, withHookedMock, withMock } from './helpers.js';

const [ADMIN, READ_ONLY, EXPIRED] = demoKeys.map((k) => k.key) as [string, string, string];
const env = (url: string, key = ADMIN) => ({ SLUICE_BASE_URL: url, SLUICE_API_KEY: key });

test('2: a command line that cannot run (the other cases run in-process, in args.test.ts)', async () => {
  const [noBase, unknown] = await Promise.all([
    sluice(['GET', '/v2/x'], { env: { SLUICE_API_KEY: ADMIN } }),
    sluice(['GET', '/v2/x', '--frobnicate'], { env: { SLUICE_API_KEY: ADMIN } }),
  ]);
  for (const [r, message] of [
    [noBase, /no base URL/],
    [unknown, /unknown option --frobnicate/],
  ] as const) {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /sluice --help/);
    assert.is(r.stdout, '');
  }
});

test('3: an expired key (401 at the exchange) and a role that may not call the endpoint (403)', async () => {
  await withMock({}, async ({ url }) => {
    const expired = await sluice(['GET', '/v2/event-details?ids=evt_1'], { env: env(url, EXPIRED) });
    assert.is(expired.code, 3, expired.stderr);
    assert.match(expired.stderr, /API key rejected \(401\)/);
    const forbidden = await sluice(['GET', '/v2/admin/api-keys'], { env: env(url, READ_ONLY) });
    assert.is(forbidden.code, 3, forbidden.stderr);
    assert.match(
      forbidden.stderr,
      /^sluice: 403 insufficient permissions: GET http:\/\/127\.0\.0\.1:\d+\/v2\/admin\/api-keys \(request id [\w-]+\)$/m,
    );
    assert.match(forbidden.stderr, /"code":"forbidden"/, "the server's error body follows");
  });
});

test('4: not found (404) and another client error (400)', async () => {
  await withMock({}, async ({ url }) => {
    const missing = await sluice(['GET', '/v2/no-such-thing'], { env: env(url) });
    assert.is(missing.code, 4, missing.stderr);
    assert.match(missing.stderr, /404 not found/);
    const bad = await sluice(['POST', '/v2/incidents/list', '--data', '{"page_request":{"size":0}}'], { env: env(url) });
    assert.is(bad.code, 4, bad.stderr);
    assert.match(bad.stderr, /400 client error/);
  });
});

test('5: still rate limited when the retry policy gives up (the server asks for longer than it waits)', async () => {
  // A two-minute storm of 429s once the token is in hand; retry-429 waits at most a minute.
  let stormed = false;
  const storm = (request: Request, mock: MockServer) => {
    if (!isTokenExchange(request) && !stormed) {
      stormed = true;
      mock.startStorm(120_000);
    }
  };
  await withHookedMock({}, storm, async ({ url, mock }) => {
    const started = Date.now();
    const r = await sluice(['GET', '/v2/event-details?ids=evt_1'], { env: env(url) });
    assert.is(r.code, 5, r.stderr);
    assert.match(r.stderr, /^sluice: 429 rate limited: GET \S+\/v2\/event-details \(retry after 1[12]\ds\)/m);
    assert.is(mock.stats().rateLimited, 1, 'not retried: the wait asked for is longer than maxDelayMs');
    assert.ok(Date.now() - started < 10_000);
  });
});

test('5: the rate limit holds the key for longer than --max-wait', async () => {
  // One request per hour; token exchanges are not counted, but their answer says none is left.
  await withMock({ limit: 1, windowMs: 3_600_000, countTokenExchange: false }, async ({ url, mock }) => {
    const first = await sluice(['GET', '/v2/event-details?ids=evt_1'], { env: env(url) });
    assert.is(first.code, 0, first.stderr);
    const r = await sluice(['GET', '/v2/event-details?ids=evt_1', '--max-wait', '30'], { env: env(url) });
    assert.is(r.code, 5, r.stderr);
    assert.match(r.stderr, /^sluice: rate limited: the key may send again at \S+ \(in \d+ s\), later than --max-wait 30 s allows$/m);
    assert.is(mock.stats().requests, 3, 'two exchanges and the first call: the second call was never sent');
  });
});

test('6: a server error (5xx) on the call, and on the token exchange', async () => {
  const onCalls = (request: Request, mock: { setFaults(f: { serverErrorRate: number }): void }) =>
    mock.setFaults({ serverErrorRate: isTokenExchange(request) ? 0 : 1 });
  await withHookedMock({}, onCalls, async ({ url }) => {
    // POST is not retried after a 5xx: not idempotent.
    const r = await sluice(['POST', '/v2/incidents/list', '--data', '{}'], { env: env(url) });
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, /^sluice: 50[023] server error: POST /m);
  });
  await withMock({ faults: { serverErrorRate: 1 } }, async ({ url }) => {
    const r = await sluice(['GET', '/v2/event-details?ids=evt_1', '--retries', '0'], { env: env(url) });
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, /token exchange failed \(50[023]\)/);
  });
});

test('7: no answer: nothing listens, or the connection is reset', async () => {
  const port = await closedPort();
  const refused = await sluice(['GET', '/v2/event-details?ids=evt_1', '--retries', '1'], { env: env(`http://127.0.0.1:${port}`) });
  assert.is(refused.code, 7, refused.stderr);
  assert.match(refused.stderr, /token exchange failed \(network error\)/);
  const onCalls = (request: Request, mock: { setFaults(f: { resetRate: number }): void }) =>
    mock.setFaults({ resetRate: isTokenExchange(request) ? 0 : 1 });
  await withHookedMock({}, onCalls, async ({ url }) => {
    const reset = await sluice(['GET', '/v2/event-details?ids=evt_1', '--retries', '0'], { env: env(url) });
    assert.is(reset.code, 7, reset.stderr);
    assert.match(reset.stderr, /^sluice: network error: GET /m);
  });
});

test.run();
