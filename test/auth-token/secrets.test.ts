import { authToken } from '@sluice/auth-token';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, harness, KEY, KEY2 } from './helpers.js';

const SECOND = 1000;
const LEAKY_TOKEN = 'tok-LEAKY-0123456789';

function assertClean(text: string, secrets: string[], where: string) {
  for (const secret of secrets) assert.not.ok(text.includes(secret), `${where} contains a secret`);
}

test('no error message, stack or JSON contains the key or a token', async () => {
  const errors: unknown[] = [];
  const catchInto = (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));

  const h = harness();
  h.api.keys.add(KEY2);
  h.api.scriptToken(
    json({ error: 'bad key', api_key: KEY }, { status: 401 }),
    json({ access_token: LEAKY_TOKEN, expires_in: 'soon' }),
    new Response(`{"access_token":"${LEAKY_TOKEN}"`),
    json({ access_token: LEAKY_TOKEN, expires_in: 900 }, { status: 400 }),
  );
  for (let i = 0; i < 4; i++) await catchInto(h.fetch(`${API}/v2/items`));
  h.api.scriptToken(...Array.from({ length: 4 }, () => new TypeError(`connect failed with ${KEY}`)));
  const network = catchInto(h.fetch(`${API}/v2/items`));
  await h.clock.advance(10 * SECOND);
  await network;
  const provider = harness({
    apiKey: () => {
      throw new Error('vault sealed');
    },
  });
  await catchInto(provider.fetch(`${API}/v2/items`));
  try {
    authToken({ apiKey: KEY, baseUrl: 'http://api.example' });
  } catch (e) {
    errors.push(e);
  }
  const closing = harness({ tokenDelayMs: SECOND });
  const closed = catchInto(closing.fetch(`${API}/v2/items`));
  await closing.clock.flush();
  await closing.fetch.close();
  await closed;

  assert.equal(
    errors.map((e) => (e as Error).name),
    [
      'InvalidApiKeyError',
      'TokenResponseError',
      'TokenResponseError',
      'TokenExchangeError',
      'TokenExchangeError',
      'TokenExchangeError',
      'InsecureTransportError',
      'ClosedError',
    ],
  );
  const secrets = [KEY, KEY2, LEAKY_TOKEN, ...h.api.issued];
  for (const error of errors) {
    const e = error as Error;
    assertClean(e.message, secrets, `${e.name} message`);
    assertClean(e.stack ?? '', secrets, `${e.name} stack`);
    assertClean(JSON.stringify(e), secrets, `${e.name} JSON`);
    assert.ok(JSON.stringify(e).includes('"code":"ERR_SLUICE_'), `${e.name} JSON has its code`);
  }
});

test('no event payload contains the key or a token', async () => {
  const h = harness({ apiKeyExpiresAt: Date.UTC(2026, 0, 2), tokenDelayMs: SECOND });
  h.api.keys.add(KEY2);
  h.api.scriptToken(json({ error: 'slow down' }, { status: 429, headers: { 'retry-after': '1' } }));
  const run = async (p: Promise<unknown>) => {
    const settled = p.catch(() => undefined);
    await h.clock.advance(3 * SECOND);
    await settled;
  };
  await run(h.fetch(`${API}/v2/a`));
  h.api.revokeAll();
  await run(h.fetch(`${API}/v2/b`, { method: 'POST', body: '{"q":1}' }));
  await h.clock.advance(720 * SECOND);
  await run(h.fetch(`${API}/v2/c`));
  h.auth.rotate(KEY2);
  await run(h.fetch(`${API}/v2/d`));
  h.auth.invalidate();
  h.api.scriptToken(json({ error: 'revoked' }, { status: 401 }));
  await run(h.fetch(`${API}/v2/e`));
  const types = new Set(h.events.map((e) => e.type));
  for (const type of [
    'auth:token-requested',
    'auth:token-acquired',
    'auth:token-failed',
    'auth:token-invalidated',
    'auth:key-expiring',
    'rate-limit:exceeded',
  ]) {
    assert.ok(types.has(type as never), `saw ${type}`);
  }
  const secrets = [KEY, KEY2, ...h.api.issued];
  assert.ok(h.api.issued.length >= 4);
  for (const { type, payload } of h.events) assertClean(JSON.stringify(payload), secrets, type);
});

test.run();
