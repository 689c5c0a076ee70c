import { authToken, keyFingerprint, TokenResponseError } from '@sluice/auth-token';
import { compose, hasCode } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { params } from './config.js';

const KEY = 'sk_live_PROPERTY_0123456789abcdef';
const API = 'https://api.example';
const TOKEN_PATH = '/v2/auth/token/access';
// crypto.subtle answers off the event loop's turn order; a fingerprint computed once is remembered per key.
await keyFingerprint(KEY);

const b64url = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const bytesB64url = (bytes: Uint8Array) => b64url(String.fromCharCode(...bytes));

// A token the secrecy check can find anywhere: a marker no message would contain, and random visible ASCII.
const secret = fc.stringMatching(/^[A-Za-z0-9_\-.~+/]{12,40}$/).map((s) => `SeCrEt${s}`);

// JSON number literals JSON.stringify cannot produce: overflow, underflow, huge integers, negative zero.
const rawNumber = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0', '0.0', '1e-12', '9007199254740993', '123456789012345678901234567890', '1e308'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
  fc.nat({ max: 100_000 }).map(String),
);
const wrongType = fc.oneof(
  fc.constant('null'),
  fc.constant('true'),
  fc.constant('"NaN"'),
  fc.constant('"Infinity"'),
  fc.nat({ max: 100_000 }).map((n) => `"${n}"`),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
);
const expiresIn = fc.option(fc.oneof(rawNumber, wrongType), { nil: undefined });

// exp values a JWT payload may carry: sane, past, overflowing when multiplied by 1000, or of another type.
const exp = fc.oneof(
  fc.integer({ min: 1_700_000_000, max: 2_100_000_000 }),
  fc.constantFrom(1e306, 1e300, -1, 0, Number.MAX_VALUE, 1.5e12, 'soon', null, true),
  fc.double(),
  fc.jsonValue(),
);
const jwt = fc
  .record({
    header: fc.oneof(fc.constant('{"alg":"HS256","typ":"JWT"}'), fc.string()),
    payload: fc.oneof(
      fc.record({ exp, sub: fc.string() }, { requiredKeys: [] }).map((p) => JSON.stringify(p)),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.string(),
    ),
    sig: fc.uint8Array({ minLength: 0, maxLength: 32 }),
  })
  .chain(({ header, payload, sig }) =>
    secret.map((s) => {
      const encode = (text: string) => b64url(String.fromCharCode(...new TextEncoder().encode(text)));
      return `${encode(header)}.${encode(payload)}.${bytesB64url(sig)}${s.replace(/[^A-Za-z0-9_-]/g, '')}`;
    }),
  );
const tokenValue = fc.oneof(
  secret.map((s) => JSON.stringify(s)),
  jwt.map((s) => JSON.stringify(s)),
  fc.string().map((s) => JSON.stringify(s)),
  wrongType,
);

// Answers a real server would send: a token, and a lifetime in seconds or a JWT exp (mostly in the future).
const saneJwt = fc
  .tuple(fc.integer({ min: 1_795_000_000, max: 1_900_000_000 }), secret)
  .map(([e, s]) => `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify({ exp: e, sub: 'k' }))}.${s.replace(/[^A-Za-z0-9_-]/g, '')}`);
const plausible = fc
  .record(
    {
      access_token: fc.oneof(secret, saneJwt),
      expires_in: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.double({ min: 0.001, max: 1e7, noNaN: true })),
      token_type: fc.constant('Bearer'),
    },
    { requiredKeys: ['access_token'] },
  )
  .map((answer) => JSON.stringify(answer));

/** A body: a plausible answer, a token object put together from raw pieces, any JSON value, any text, or any bytes. */
const body: fc.Arbitrary<string | Uint8Array> = fc
  .oneof(
    { weight: 3, arbitrary: plausible },
    {
      weight: 4,
      arbitrary: fc.tuple(fc.option(tokenValue, { nil: undefined }), expiresIn, fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })),
    },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? '') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  )
  .map((b) => {
    if (typeof b === 'string' || b instanceof Uint8Array) return b;
    const [token, seconds, extra] = b;
    const parts = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    if (token !== undefined) parts.push(`"access_token":${token}`);
    if (seconds !== undefined) parts.push(`"expires_in":${seconds}`);
    return `{${parts.join(',')}}`;
  });

/** Strings of the answer that must never surface in an error: the token, and any long stretch of the body. */
function secretsOf(answer: string | Uint8Array): string[] {
  const text = typeof answer === 'string' ? answer : new TextDecoder().decode(answer);
  const found: string[] = text.match(/SeCrEt[A-Za-z0-9_\-.~+/]*/g) ?? [];
  let token: unknown;
  try {
    token = JSON.parse(text)?.access_token;
  } catch {}
  if (typeof token === 'string' && token.length >= 12) found.push(token);
  if (text.length >= 24 && !/^[\s{}[\]",:a-z_]*$/.test(text)) found.push(text);
  return found;
}

async function exchangeOnce(answer: string | Uint8Array) {
  const clock = createTestClock({ now: Date.UTC(2026, 10, 27, 12, 0, 0, 123) });
  const transport = createFakeTransport({ clock }).fallback((call) =>
    new URL(call.url).pathname === TOKEN_PATH ? new Response(answer as BodyInit, { status: 200 }) : new Response('ok'),
  );
  const api = compose([authToken({ apiKey: KEY, baseUrl: API, maxRetries: 0 })], { fetch: transport.fetch, clock });
  let acquired: { expiresAt: number } | undefined;
  api.events.on('auth:token-acquired', (e) => {
    acquired = e;
  });
  const issuedAt = clock.now();
  try {
    const response = await api(`${API}/v2/items`);
    return { response, acquired, issuedAt, calls: transport.calls };
  } catch (error) {
    return { error, acquired, issuedAt, calls: transport.calls };
  } finally {
    await api.close();
  }
}

test('a token answer yields a usable token with a finite future expiry, or a TokenResponseError that quotes nothing', async () => {
  await fc.assert(
    fc.asyncProperty(body, async (answer) => {
      const out = await exchangeOnce(answer);
      if ('error' in out) {
        const e = out.error as TokenResponseError;
        assert.ok(e instanceof TokenResponseError, `not a TokenResponseError: ${String(e)}`);
        assert.ok(hasCode(e, 'ERR_SLUICE_TOKEN_RESPONSE'));
        assert.is(e.name, 'TokenResponseError');
        assert.is(out.calls.length, 1, 'nothing but the exchange was sent');
        const shown = [e.message, String(e.stack), JSON.stringify(e), String(e)].join('\n');
        for (const s of secretsOf(answer)) assert.not.ok(shown.includes(s), 'the error quotes the answer');
        return;
      }
      assert.is(out.response.status, 200);
      const sent = out.calls[1]?.headers.get('authorization');
      const token = JSON.parse(typeof answer === 'string' ? answer : new TextDecoder().decode(answer)).access_token;
      assert.is(sent, `Bearer ${token}`);
      const expiresAt = out.acquired?.expiresAt as number;
      assert.ok(Number.isFinite(expiresAt) && expiresAt > out.issuedAt, `expiry ${expiresAt} is not finite and in the future`);
    }),
    params,
  );
});

test('a token answer whose expires_in is an object that cannot become a number is a TokenResponseError, not a TypeError', async () => {
  const out = await exchangeOnce('{"access_token":"tok_0123456789","expires_in":{"toString":{}}}');
  assert.ok('error' in out && out.error instanceof TokenResponseError);
});

test('a token answer with a positive expires_in too small to move the clock is a TokenResponseError', async () => {
  const out = await exchangeOnce('{"access_token":"tok_0123456789","expires_in":1e-12}');
  assert.ok('error' in out && out.error instanceof TokenResponseError);
});

test('a JWT whose exp overflows to an infinite expiry is a TokenResponseError', async () => {
  const payload = b64url(JSON.stringify({ exp: 1e306 }));
  const out = await exchangeOnce(JSON.stringify({ access_token: `eyJhbGciOiJIUzI1NiJ9.${payload}.c2ln` }));
  assert.ok('error' in out && out.error instanceof TokenResponseError);
});

test.run();
