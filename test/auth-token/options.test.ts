import { type AuthTokenOptions, authToken, authTokenDefaults } from '@sluice/auth-token';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, harness, KEY } from './helpers.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

test('defaults are documented values in one frozen object', () => {
  assert.ok(Object.isFrozen(authTokenDefaults));
  assert.is(authTokenDefaults.tokenUrl, '/v2/auth/token/access');
  assert.is(authTokenDefaults.refreshRatio, 0.2);
  assert.is(authTokenDefaults.refreshWindowMs, 0);
  assert.is(authTokenDefaults.skewMs, 30_000);
  assert.is(authTokenDefaults.maxRetries, 3);
  assert.is(authTokenDefaults.header, 'authorization');
  assert.is(authTokenDefaults.scheme, 'Bearer');
  assert.equal(authTokenDefaults.tokenRequest(KEY).body, JSON.stringify({ api_key: KEY }));
});

test('apiKey must be a non-empty string or a function', () => {
  for (const apiKey of [undefined, '', '   ', 42]) {
    const error = thrown(() => authToken({ apiKey, baseUrl: API } as unknown as AuthTokenOptions));
    assert.instance(error, TypeError);
    assert.match(error.message, /`apiKey` must be a non-empty string or a function/);
  }
});

test('needs an absolute tokenUrl or a baseUrl', () => {
  const error = thrown(() => authToken({ apiKey: KEY }));
  assert.instance(error, TypeError);
  assert.match(error.message, /`tokenUrl` must be an absolute URL, or `baseUrl` must be given/);
  authToken({ apiKey: KEY, tokenUrl: `${API}/token` });
});

test('numeric options are validated with the option name and the value', () => {
  const cases: Array<[Partial<AuthTokenOptions>, RegExp]> = [
    [{ maxRetries: -1 }, /`maxRetries` must be a non-negative number, got -1/],
    [{ skewMs: Number.NaN }, /`skewMs` must be a non-negative number, got NaN/],
    [{ refreshRatio: 1 }, /`refreshRatio` must be a non-negative number below 1, got 1/],
    [{ apiKeyExpiresAt: 'next year' }, /`apiKeyExpiresAt` must be a date, got next year/],
  ];
  for (const [options, message] of cases) {
    const error = thrown(() => authToken({ apiKey: KEY, baseUrl: API, ...options }));
    assert.instance(error, RangeError);
    assert.match(error.message, message);
  }
});

test('undefined options fall back to the defaults and the caller object is not written to', async () => {
  const options: AuthTokenOptions = { apiKey: KEY, baseUrl: API, scheme: undefined, maxRetries: undefined };
  const copy = { ...options };
  const h = harness(options);
  await h.fetch(`${API}/v2/a`);
  assert.is(h.apiCalls()[0]?.headers.get('authorization'), 'Bearer tok-1');
  assert.equal(options, copy);
});

test('the interceptor is named auth-token', () => {
  assert.is(authToken({ apiKey: KEY, baseUrl: API }).name, 'auth-token');
});

test.run();
