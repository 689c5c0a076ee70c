import { ClosedError } from '@sluice/core';
import { isNotFoundError, isPermissionError } from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { BASE, drive, READ_ONLY_KEY, setup } from './helpers.js';

test('$fetch sends JSON to the tenant through the pipeline and parses the answer', async () => {
  const { clock, client, sent } = setup();
  const page = await drive(clock, client.$fetch('/v2/incidents/list', { method: 'POST', body: { page_request: { size: 2 } } }));
  assert.is(page.resources.length, 2);
  assert.equal(
    sent.map((r) => `${r.method} ${r.path}`),
    ['POST /v2/auth/token/access', 'POST /v2/incidents/list'],
  );
  assert.equal(sent[1]!.body, { page_request: { size: 2 } });
  await client.close();
});

test('$fetch rejects with the typed errors of error-map, not an ofetch wrapper', async () => {
  const { clock, client } = setup({ client: { apiKey: READ_ONLY_KEY } });
  const error = await drive(clock, rejects(client.$fetch('/v2/admin/api-keys')));
  assert.ok(isPermissionError(error), String(error));
  assert.is((error as Error).message, `403 insufficient permissions: GET ${BASE}/v2/admin/api-keys`);
  await client.close();
});

test('$fetch does not retry on its own: retrying is left to the pipeline', async () => {
  const paths: string[] = [];
  const fetch = async (request: Request) => {
    const path = new URL(request.url).pathname;
    paths.push(path);
    if (path === '/v2/auth/token/access') return Response.json({ access_token: 'tok', expires_in: 900 });
    return Response.json({ error: { code: 'service_unavailable' } }, { status: 503 });
  };
  // keepResponse hands the 503 to ofetch as a response, which ofetch's default retry would send again.
  const { clock, client } = setup({ client: { fetch, retry: { retry503: false }, errors: { keepResponse: true } } });
  const error = await drive(clock, rejects(client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } })));
  assert.is((error as { status?: number }).status, 503);
  assert.equal(paths, ['/v2/auth/token/access', '/v2/event-details'], 'the GET was sent once');
  await client.close();
});

test('the fetch is a drop-in for full URLs and every interceptor reports on one bus', async () => {
  const { clock, client, of } = setup();
  const response = await drive(clock, client.fetch(`${BASE}/v2/event-details?ids=evt_000001_1`));
  assert.is(response.status, 200);
  assert.is((await response.json()).resources[0].id, 'evt_000001_1');
  assert.equal(
    of('auth:token-acquired').map((e) => e.reason),
    ['initial'],
  );
  assert.is(of('rate-limit:acquired').length, 2, 'the exchange and the call were both counted');
  await drive(clock, rejects(client.fetch(`${BASE}/v2/no-such-thing`), isNotFoundError));
  assert.equal(
    of('error:mapped').map((e) => e.status),
    [404],
  );
  assert.is(client.events, client.fetch.events);
  await client.close();
});

test('the interceptors are composed outermost first: error-map, retry-429, auth-token, rate-limit', () => {
  const { client } = setup();
  assert.equal(
    Object.values(client.interceptors).map((i) => i.name),
    ['error-map', 'retry-429', 'auth-token', 'rate-limit'],
  );
  assert.is(typeof client.interceptors.auth.rotate, 'function');
  assert.equal(client.interceptors.rateLimit.stats(), { keys: 0, queued: 0, policies: {} });
});

test('close() rejects queued calls and later calls with ClosedError and leaves no timer', async () => {
  const { clock, client } = setup({ client: { rateLimit: { rules: [{ limit: 2, windowMs: 60_000 }] } } });
  await drive(clock, client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }));
  const queued = client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } });
  // Without moving time (the window must not pass): let the call reach the queue.
  for (let i = 0; i < 20 && client.interceptors.rateLimit.stats().queued === 0; i++) await clock.flush();
  assert.is(client.interceptors.rateLimit.stats().queued, 1);
  await client.close();
  await rejects(queued, ClosedError);
  await rejects(client.$fetch('/v2/event-details', { query: { ids: 'evt_000001_1' } }), ClosedError);
  await clock.flush();
  assert.is(clock.pending, 0);
});

test.run();
