import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import nock from 'nock';
import { ofetch } from 'ofetch';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KEY } from './helpers.js';

const BASE = 'https://tenant.cyberhaven.example';

test.before.each(() => {
  nock.disableNetConnect();
});

test.after.each(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

test('ofetch through sluice: one exchange, bearer on every call, a 401 replayed with its JSON body', async () => {
  const body = { filter: { status: 'open' }, page_request: { size: 50 } };
  const scope = nock(BASE)
    .post('/v2/auth/token/access', { api_key: KEY })
    .reply(200, { access_token: 'tok-a', expires_in: 900 })
    .get('/v2/event-details')
    .query({ ids: 'a,b' })
    .matchHeader('authorization', 'Bearer tok-a')
    .reply(200, { resources: [] })
    .post('/v2/incidents/list', body)
    .matchHeader('authorization', 'Bearer tok-a')
    .reply(401, { error: 'token expired' })
    .post('/v2/auth/token/access', { api_key: KEY })
    .reply(200, { access_token: 'tok-b', expires_in: 900 })
    .post('/v2/incidents/list', body)
    .matchHeader('authorization', 'Bearer tok-b')
    .reply(200, { incidents: [{ id: 'i-1' }] });

  const sluice = compose([authToken({ apiKey: KEY, baseUrl: `${BASE}/v2/` })]);
  const api = ofetch.create({ baseURL: `${BASE}/v2` }, { fetch: sluice });
  try {
    assert.equal(await api('/event-details', { query: { ids: 'a,b' } }), { resources: [] });
    assert.equal(await api('/incidents/list', { method: 'POST', body }), { incidents: [{ id: 'i-1' }] });
    assert.ok(scope.isDone(), `pending mocks: ${scope.pendingMocks().join(', ')}`);
    assert.ok(nock.isDone());
  } finally {
    await sluice.close();
  }
});

test.run();
