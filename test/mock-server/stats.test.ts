import { compose } from '@sluice/core';
import { createMockServer } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, BASE, READ_ONLY_KEY, setup, statuses } from './helpers.js';

test('stats() counts requests, statuses, 429s, 401s by reason, 403s, token exchanges and peaks as plain data', async () => {
  const { token, list, send, server } = setup({ limit: 3 });
  const t = await token();
  await statuses(3, () => list(t));
  await send('POST', '/v2/incidents/list', { body: {} });
  const reader = await token(READ_ONLY_KEY);
  await send('GET', '/v2/admin/api-keys', { token: reader });
  const stats = server.stats();
  assert.equal(stats, {
    requests: 7,
    byStatus: { 200: 4, 401: 1, 403: 1, 429: 1 },
    rateLimited: 1,
    rateLimitedBy: { rate: 1, concurrency: 0, storm: 0 },
    unauthorized: { missing: 1, malformed: 0, unknown: 0, expired: 0, revoked: 0, invalidKey: 0, keyExpired: 0 },
    forbidden: 1,
    tokenExchanges: 2,
    faults: { serverErrors: 0, resets: 0, malformedTokens: 0 },
    peakConcurrency: { '/v2/auth/token/access': 1, '/v2/incidents/list': 1 },
    perKey: {
      'demo-admin': { requests: 4, rateLimited: 1, tokenExchanges: 1, peakConcurrency: 1 },
      'demo-read-only': { requests: 2, rateLimited: 0, tokenExchanges: 1, peakConcurrency: 1 },
    },
    inFlight: 0,
  });
  stats.requests = 1000;
  assert.is(server.stats().requests, 7, 'a copy');
  server.resetStats();
  assert.is(server.stats().requests, 0);
});

test('serves stats and controls under /_mock, outside limits and stats', async () => {
  const { send, token, list, server } = setup({ limit: 2 });
  const t = await token();
  await list(t);
  for (let i = 0; i < 5; i++) assert.is((await send('GET', '/_mock/stats')).status, 200);
  const stats = (await (await send('GET', '/_mock/stats')).json()) as { requests: number; tokenExchanges: number };
  assert.equal([stats.requests, stats.tokenExchanges], [2, 1]);
  const revoked = (await (await send('POST', '/_mock/revoke-tokens')).json()) as { revoked: number };
  assert.is(revoked.revoked, 1);
  assert.is((await list(t)).status, 401);
  assert.is((await send('POST', '/_mock/storm', { body: { durationMs: 1000 } })).status, 200);
  assert.is((await send('POST', '/v2/auth/token/access', { body: { api_key: READ_ONLY_KEY } })).status, 429);
  const faults = await send('PATCH', '/_mock/faults', { body: { serverErrorRate: 0.25 } });
  assert.equal(await faults.json(), { serverErrorRate: 0.25 });
  assert.equal(server.faults(), { serverErrorRate: 0.25 });
  assert.is((await send('POST', '/_mock/reset-stats')).status, 200);
  assert.is(server.stats().requests, 0);
});

test('control routes reject bad input with 400, 404 and 405', async () => {
  const { send } = setup();
  const cases: [string, string, unknown, number][] = [
    ['PATCH', '/_mock/faults', { resetRate: 5 }, 400],
    ['PATCH', '/_mock/faults', '{', 400],
    ['POST', '/_mock/storm', { durationMs: 'long' }, 400],
    ['POST', '/_mock/storm', '{"durationMs": 1e999}', 400],
    ['GET', '/_mock/__proto__', undefined, 404],
    ['GET', '/_mock/nothing', undefined, 404],
    ['DELETE', '/_mock/stats', undefined, 405],
  ];
  for (const [method, path, body, status] of cases) {
    const response = await send(method, path, { body });
    assert.is(response.status, status, `${method} ${path}`);
    assert.ok(response.headers.get('x-request-id'));
  }
});

test('controlPath: false turns the control routes off', async () => {
  const { send } = setup({ controlPath: false });
  assert.is((await send('GET', '/_mock/stats')).status, 404);
});

test('keeps the peak table bounded when every path is its own endpoint', async () => {
  const { token, send, server } = setup({ limit: 10_000, concurrencyScope: 'path' });
  const t = await token();
  for (let i = 0; i < 1010; i++) await (await send('GET', `/v2/event-details/evt_${i}`, { token: t })).arrayBuffer();
  const peaks = server.stats().peakConcurrency;
  assert.is(Object.keys(peaks).length, 1001, '1000 endpoints and the shared rest');
  assert.is(peaks['(other endpoints)'], 1);
});

test('fetch resolves a bare path against http://localhost', async () => {
  const server = createMockServer();
  const response = await server.fetch('/v2/auth/token/access', { method: 'POST', body: JSON.stringify({ api_key: ADMIN_KEY }) });
  assert.is(response.status, 200);
});

test('works as the transport of a composed pipeline, with no sockets', async () => {
  const server = createMockServer();
  const fetch = compose([], { fetch: server.fetch });
  const exchange = await fetch(`${BASE}/v2/auth/token/access`, { method: 'POST', body: JSON.stringify({ api_key: ADMIN_KEY }) });
  const { access_token } = (await exchange.json()) as { access_token: string };
  const page = await fetch(
    new Request(`${BASE}/v2/incidents/list`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` }, body: '{}' }),
  );
  assert.is(page.status, 200);
  await server.close();
});

test.run();
