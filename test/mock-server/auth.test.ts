import { createTestClock } from '@sluice/core/testing';
import { createMockServer, MAX_KEY_VALIDITY_MS } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, EXPIRED_KEY, errorOf, jwtPayload, LIST_PATH, READ_ONLY_KEY, setup, TOKEN_PATH } from './helpers.js';

test('exchanges an API key for a JWT-shaped token that expires in 900 s', async () => {
  const { send, clock } = setup();
  const response = await send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } });
  assert.is(response.status, 200);
  const body = (await response.json()) as { access_token: string; expires_in: number };
  assert.is(body.expires_in, 900);
  assert.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = jwtPayload(body.access_token);
  assert.is(claims.sub, 'demo-admin');
  assert.is(claims.iat, clock.now() / 1000);
  assert.is(claims.exp, clock.now() / 1000 + 900);
  assert.not.ok(body.access_token.includes(ADMIN_KEY), 'the token must not carry the key');
});

test('accepts the token until 900 s have passed, then answers 401 token_expired', async () => {
  const { token, list, clock, server } = setup();
  const t = await token();
  await clock.advance(899_999);
  assert.is((await list(t)).status, 200);
  await clock.advance(1);
  const response = await list(t);
  assert.is(response.status, 401);
  assert.is((await errorOf(response)).code, 'token_expired');
  assert.is(server.stats().unauthorized.expired, 1);
});

test('answers 401 invalid_api_key for an unknown key and api_key_expired for an expired one', async () => {
  const { send, server } = setup();
  const unknown = await send('POST', TOKEN_PATH, { body: { api_key: 'not-a-key' } });
  assert.is(unknown.status, 401);
  assert.is((await errorOf(unknown)).code, 'invalid_api_key');
  const expired = await send('POST', TOKEN_PATH, { body: { api_key: EXPIRED_KEY } });
  assert.is(expired.status, 401);
  assert.is((await errorOf(expired)).code, 'api_key_expired');
  assert.equal([server.stats().unauthorized.invalidKey, server.stats().unauthorized.keyExpired], [1, 1]);
});

test('answers 400 when api_key is missing or not a string', async () => {
  const { send } = setup();
  for (const body of [{}, { api_key: 42 }, { api_key: '' }, '']) {
    const response = await send('POST', TOKEN_PATH, { body });
    assert.is(response.status, 400, JSON.stringify(body));
    assert.is((await errorOf(response)).code, 'invalid_request');
  }
});

test('tells each 401 reason apart: missing, malformed, unknown', async () => {
  const { send, server } = setup();
  const codes: string[] = [];
  const cases: Record<string, string>[] = [
    {},
    { authorization: 'Basic abc' },
    { authorization: 'Bearer not-a-jwt' },
    { authorization: 'Bearer a.b.c' },
  ];
  for (const headers of cases) {
    const response = await send('POST', LIST_PATH, { headers, body: {} });
    assert.is(response.status, 401);
    assert.ok(response.headers.get('www-authenticate')?.startsWith('Bearer'));
    codes.push((await errorOf(response)).code);
  }
  assert.equal(codes, ['missing_token', 'malformed_token', 'malformed_token', 'invalid_token']);
  const { missing, malformed, unknown } = server.stats().unauthorized;
  assert.equal({ missing, malformed, unknown }, { missing: 1, malformed: 2, unknown: 1 });
});

test('revokeAllTokens makes earlier tokens answer 401 token_revoked while new exchanges work', async () => {
  const { token, list, server } = setup();
  const before = await token();
  assert.is(server.revokeAllTokens(), 1);
  const response = await list(before);
  assert.is(response.status, 401);
  assert.is((await errorOf(response)).code, 'token_revoked');
  assert.is((await list(await token())).status, 200);
  assert.is(server.stats().unauthorized.revoked, 1);
});

test('removing a key revokes its tokens', async () => {
  const { token, list, server } = setup();
  const t = await token(READ_ONLY_KEY);
  assert.ok(server.removeKey('demo-read-only'));
  const response = await list(t);
  assert.is(response.status, 401);
  assert.is((await errorOf(response)).code, 'token_revoked');
});

test('a token stops working when its key expires', async () => {
  const { token, list, server, clock } = setup();
  server.addKey({ key: 'short-lived', id: 'short', role: 'admin', validForMs: 10_000 });
  const t = await token('short-lived');
  await clock.advance(10_000);
  const response = await list(t);
  assert.is(response.status, 401);
  assert.is((await errorOf(response)).code, 'api_key_expired');
});

test('rejects keys valid for more than a year at creation, and accepts exactly one year', () => {
  const clock = createTestClock();
  const server = createMockServer({ clock, keys: [] });
  assert.throws(() => server.addKey({ key: 'k1', role: 'admin', validForMs: MAX_KEY_VALIDITY_MS + 1 }), /at most one year/);
  assert.throws(() => server.addKey({ key: 'k2', role: 'admin', expiresAt: clock.now() + MAX_KEY_VALIDITY_MS + 1 }), /at most one year/);
  const key = server.addKey({ key: 'k3', role: 'read-only', validForMs: MAX_KEY_VALIDITY_MS });
  assert.is(key.expiresAt - key.createdAt, MAX_KEY_VALIDITY_MS);
  assert.throws(() => server.addKey({ key: 'k4', role: 'owner' as never }), /role/);
  assert.throws(() => server.addKey({ key: 'k3', role: 'admin' }), /already exists/);
  assert.throws(() => createMockServer({ clock, keys: [{ key: 'x', role: 'admin', validForMs: 400 * 86_400_000 }] }), /at most one year/);
});

test('never shows a key secret in the key listing', async () => {
  const { server } = setup();
  const listing = JSON.stringify(server.keys());
  assert.not.ok(listing.includes(ADMIN_KEY));
  assert.equal(
    server.keys().map((k) => [k.id, k.role, k.expired]),
    [
      ['demo-admin', 'admin', false],
      ['demo-read-only', 'read-only', false],
      ['demo-expired', 'admin', true],
    ],
  );
});

test('keeps memory bounded: at most maxTokens tokens are remembered', async () => {
  const { token, list } = setup({ maxTokens: 3, limit: 1000 });
  const first = await token();
  for (let i = 0; i < 3; i++) await token();
  const response = await list(first);
  assert.is(response.status, 401);
  assert.is((await errorOf(response)).code, 'invalid_token');
});

test('purges expired tokens lazily, after one more lifetime', async () => {
  const { token, list, clock } = setup();
  const old = await token();
  await clock.advance(900_000);
  assert.is((await errorOf(await list(old))).code, 'token_expired');
  await clock.advance(900_000);
  await token(); // an exchange sweeps
  assert.is((await errorOf(await list(old))).code, 'invalid_token');
});

test.run();
