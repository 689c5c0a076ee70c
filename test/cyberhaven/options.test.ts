import { InsecureTransportError } from '@sluice/auth-token';
import type { Context } from '@sluice/core';
import { createCyberhavenClient, cyberhavenDefaults, cyberhavenEndpoint } from '@sluice/cyberhaven';
import { isRateLimitError, isTimeoutError } from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { ADMIN_KEY, drive, setup } from './helpers.js';

const create = (options: Record<string, unknown>) => () => createCyberhavenClient({ apiKey: ADMIN_KEY, ...options } as never);
const throwsNaming = (fn: () => unknown, Class: new (...args: never[]) => Error, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof Class && pattern.test(String(e)));

test('baseUrl is required and must be the tenant origin over http(s)', () => {
  throwsNaming(create({}), TypeError, /`baseUrl` is required/);
  throwsNaming(create({ baseUrl: 'acme.cyberhaven.io' }), TypeError, /`baseUrl` must be an absolute URL/);
  throwsNaming(create({ baseUrl: 'ftp://acme.cyberhaven.io' }), TypeError, /`baseUrl` must be an https URL/);
  throwsNaming(create({ baseUrl: 'https://acme.cyberhaven.io/api/v1' }), TypeError, /tenant's origin/);
  throwsNaming(create({ baseUrl: 'https://acme.cyberhaven.io/?key=x' }), TypeError, /tenant's origin/);
  throwsNaming(() => createCyberhavenClient(undefined as never), TypeError, /options object/);
});

test('plain http is refused unless the host is loopback', () => {
  assert.throws(create({ baseUrl: 'http://acme.cyberhaven.io' }), (e: unknown) => e instanceof InsecureTransportError);
  for (const baseUrl of ['http://127.0.0.1:8787', 'http://localhost:8787', new URL('https://acme.cyberhaven.io')]) {
    create({ baseUrl })();
  }
});

test('a /v2 path on baseUrl is accepted and calls still go to /v2/...', async () => {
  const { clock, client, sent } = setup({ client: { baseUrl: 'https://acme.cyberhaven.io/v2/' } });
  await drive(clock, client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  assert.equal(
    sent.map((r) => r.path),
    ['/v2/auth/token/access', '/v2/event-details?ids=evt_000001_1'],
  );
  await client.close();
});

test('apiKey and override sections are checked when the client is created', () => {
  throwsNaming(() => createCyberhavenClient({ baseUrl: 'https://acme.cyberhaven.io' } as never), TypeError, /`apiKey`/);
  throwsNaming(create({ baseUrl: 'https://a.example', rateLimit: 5 }), TypeError, /`rateLimit` must be an object/);
  throwsNaming(create({ baseUrl: 'https://a.example', retry: [] }), TypeError, /`retry` must be an object/);
  throwsNaming(create({ baseUrl: 'https://a.example', retry: { maxRetries: -1 } }), RangeError, /maxRetries/);
});

test('the defaults start from the API documented limits, learnt on from the answers, frozen', () => {
  assert.is(cyberhavenDefaults.rateLimit.rules, 'auto');
  assert.equal(cyberhavenDefaults.rateLimit.startFrom, [{ limit: 60, windowMs: 60_000 }]);
  assert.is(cyberhavenDefaults.rateLimit.concurrency, 5);
  assert.is(cyberhavenDefaults.auth.tokenUrl, '/v2/auth/token/access');
  assert.ok(Object.isFrozen(cyberhavenDefaults) && Object.isFrozen(cyberhavenDefaults.rateLimit.startFrom[0]));
});

test('the preset holds the documented rule against the reference simulator; rules given by hand replace the learning', async () => {
  const { clock, client } = setup();
  await drive(clock, client.$fetch('/v2/admin/api-keys'));
  const [key, policy] = Object.entries(client.interceptors.rateLimit.stats().policies ?? {})[0] ?? [];
  assert.ok(key);
  assert.equal(policy, { source: 'documented', rules: [{ limit: 60, windowMs: 60_000 }] });
  const byHand = createCyberhavenClient({
    baseUrl: 'https://a.example',
    apiKey: 'k',
    rateLimit: { rules: [{ limit: 30, windowMs: 60_000 }] },
  });
  assert.is(byHand.interceptors.rateLimit.stats().policies, undefined, 'no learning');
  await byHand.close();
});

test('the concurrency cap counts the path form of event-details as one endpoint', () => {
  const ctx = { state: {} } as Context;
  const endpoint = (url: string, state = {}) => cyberhavenEndpoint(new Request(url), { ...ctx, state } as Context);
  assert.is(endpoint('https://a.example/v2/event-details/evt_1,evt_2'), '/v2/event-details');
  assert.is(endpoint('https://a.example/v2/event-details?ids=evt_1'), '/v2/event-details');
  assert.is(endpoint('https://a.example/v2/incidents/list'), '/v2/incidents/list');
  assert.is(endpoint('https://a.example/v2/incidents/list', { endpoint: 'mine' }), 'mine');
});

test('six calls at once: five go out, the sixth waits for a slot on its endpoint', async () => {
  const { clock, client, server, of } = setup({ server: { latencyMs: 500 } });
  await drive(clock, client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  const calls = Array.from({ length: 6 }, () => client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  await drive(clock, Promise.all(calls));
  assert.equal(
    of('rate-limit:queued').map((e) => e.endpoint),
    ['/v2/event-details'],
  );
  assert.is(server.stats().rateLimited, 0);
  await client.close();
});

test('rateLimit overrides reach rate-limit', async () => {
  const { clock, client, of } = setup({ client: { rateLimit: { rules: [{ limit: 2, windowMs: 10_000 }] } } });
  const started = clock.now();
  let last = 0;
  const calls = [1, 2].map(() => client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }).then(() => (last = clock.now())));
  await drive(clock, Promise.all(calls));
  assert.ok(of('rate-limit:queued').length >= 1, 'the exchange and one call fill the window of 2');
  assert.ok(last - started >= 10_000, `the last call waited for the next window (${last - started} ms)`);
  await client.close();
});

test('retry overrides reach retry-429: with no retries a 429 reaches the caller as RateLimitError', async () => {
  const { clock, client, server } = setup({ client: { retry: { maxRetries: 0 } } });
  await drive(clock, client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  server.startStorm(5_000);
  const error = await drive(clock, rejects(client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } })));
  assert.ok(isRateLimitError(error), String(error));
  assert.is((error as { retryAfterMs?: number }).retryAfterMs, 5_000);
  await client.close();
});

test('errors overrides reach error-map: with keepResponse a 404 comes back as a response', async () => {
  const { clock, client, of } = setup({ client: { errors: { keepResponse: true } } });
  const response = await drive(clock, client.fetch('https://acme.cyberhaven.io/v2/nothing-here'));
  assert.is(response.status, 404);
  assert.is(of('error:mapped')[0]?.status, 404);
  await client.close();
});

test('errors.timeoutMs puts timeout() right after error-map, and a call that outlasts it rejects with TimeoutError', async () => {
  const { clock, client, of } = setup({ server: { faults: { tokenLatencyMs: 600_000 } }, client: { errors: { timeoutMs: 10_000 } } });
  assert.equal(
    Object.values(client.interceptors).map((i) => i.name),
    ['error-map', 'timeout', 'retry-429', 'auth-token', 'rate-limit'],
  );
  const call = rejects(client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  await clock.advance(10_000);
  const error = await call;
  assert.ok(isTimeoutError(error), String(error));
  assert.is((error as { timeoutMs?: number }).timeoutMs, 10_000);
  assert.equal(of('error:mapped'), [
    { method: 'GET', url: 'https://acme.cyberhaven.io/v2/event-details', status: undefined, code: 'ERR_SLUICE_TIMEOUT' },
  ]);
  await client.close();
});

test('errors.timeoutMs must be a positive number, and is named when it is not', () => {
  throwsNaming(
    create({ baseUrl: 'https://a.example', errors: { timeoutMs: 0 } }),
    RangeError,
    /`errors.timeoutMs` must be a positive number, got 0/,
  );
  throwsNaming(create({ baseUrl: 'https://a.example', errors: { timeoutMs: Number.NaN } }), RangeError, /`errors.timeoutMs`/);
});

test('auth overrides reach auth-token: a key expiring soon is reported', async () => {
  const { clock, client, of } = setup();
  const soon = setup({ client: { auth: { apiKeyExpiresAt: clock.now() + 3_600_000 } } });
  await drive(soon.clock, soon.client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  assert.is(soon.of('auth:key-expiring')[0]?.thresholdMs, 86_400_000);
  assert.equal(of('auth:key-expiring'), []);
  await Promise.all([client.close(), soon.client.close()]);
});

test('undefined overrides keep the preset defaults', async () => {
  const { clock, client, of } = setup({
    client: { rateLimit: { rules: undefined, concurrency: undefined }, auth: { tokenUrl: undefined } },
  });
  await drive(clock, client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  assert.is(of('auth:token-acquired').length, 1);
  assert.is(of('rate-limit:queued').length, 0);
  await client.close();
});

test('inner interceptors run after the limiter and see the token exchange and every request sent', async () => {
  const seen: string[] = [];
  const inner = {
    name: 'probe',
    handle(request: Request, next: (r: Request) => Promise<Response>) {
      seen.push(`${request.method} ${new URL(request.url).pathname}`);
      return next(request);
    },
  };
  const { clock, client } = setup({ client: { inner: [inner] } });
  await drive(clock, client.fetch('https://acme.cyberhaven.io/v2/event-details?ids=a'));
  assert.equal(seen, ['POST /v2/auth/token/access', 'GET /v2/event-details']);
  await client.close();
});

test.run();
