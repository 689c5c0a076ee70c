import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, errorOf, READ_ONLY_KEY, setup } from './helpers.js';

test('a read-only key gets 403 on the admin endpoint', async () => {
  const { token, send, server } = setup();
  const response = await send('GET', '/v2/admin/api-keys', { token: await token(READ_ONLY_KEY) });
  assert.is(response.status, 403);
  const error = await errorOf(response);
  assert.is(error.code, 'forbidden');
  assert.match(error.message, /read-only/);
  assert.is(server.stats().forbidden, 1);
});

test('an admin key lists API keys without their secrets', async () => {
  const { token, send } = setup();
  const response = await send('GET', '/v2/admin/api-keys', { token: await token(ADMIN_KEY) });
  assert.is(response.status, 200);
  const text = await response.text();
  assert.not.ok(text.includes(ADMIN_KEY) || text.includes(READ_ONLY_KEY));
  const body = JSON.parse(text) as { type: string; resources: { id: string; role: string; status: string }[] };
  assert.is(body.type, 'api_keys');
  assert.equal(
    body.resources.map((k) => `${k.id}:${k.role}:${k.status}`),
    ['demo-admin:admin:active', 'demo-read-only:read-only:active', 'demo-expired:admin:expired'],
  );
});

test('a read-only key may read incidents and events', async () => {
  const { token, send, list } = setup();
  const t = await token(READ_ONLY_KEY);
  assert.is((await list(t)).status, 200);
  assert.is((await send('GET', '/v2/event-details?ids=evt_000001_1', { token: t })).status, 200);
});

test('a 403 still counts against the key (counted at arrival)', async () => {
  const { token, send } = setup();
  const t = await token(READ_ONLY_KEY);
  const response = await send('GET', '/v2/admin/api-keys', { token: t });
  assert.is(response.status, 403);
  assert.is(response.headers.get('x-ratelimit-remaining'), '58');
});

test.run();
