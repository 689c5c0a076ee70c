import { domainToASCII } from 'node:url';
import { authToken, keyFingerprint } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { createFakeTransport, createTestClock, json } from '@sluice/core/testing';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { params } from './config.js';

const KEY = 'sk_live_ORIGINS_0123456789abcdef';
const TOKEN_PATH = '/v2/auth/token/access';
await keyFingerprint(KEY);

/**
 * A pipeline whose token is issued for `tokenOrigin` (plus `origins`, if given); sends each URL once and
 * says, per URL, whether it carried the token, or `'rejected'` when the call itself failed.
 */
async function attached(tokenOrigin: string, urls: string[], origins?: string[]) {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback((call) =>
    call.method === 'POST' && new URL(call.url).pathname === TOKEN_PATH
      ? json({ access_token: 'tok_origins', expires_in: 900 })
      : new Response('ok'),
  );
  const auth = authToken({ apiKey: KEY, baseUrl: tokenOrigin, origins, allowInsecureHttp: true });
  const api = compose([auth], { fetch: transport.fetch, clock });
  const out: (boolean | 'rejected')[] = [];
  try {
    for (const url of urls) {
      const before = transport.calls.length;
      try {
        await api(url);
      } catch {
        out.push('rejected');
        assert.is(transport.calls.length, before, 'a rejected call sent nothing');
        continue;
      }
      const call = transport.calls.at(-1);
      assert.ok(call && transport.calls.length > before && call.method === 'GET', 'the call reached the transport');
      const header = call.headers.get('authorization');
      assert.ok(header === null || header === 'Bearer tok_origins');
      out.push(header !== null);
    }
  } finally {
    await api.close();
  }
  // Tokens went only to calls counted above, and the key only to the token endpoint.
  for (const call of transport.calls) if (call.text?.includes(KEY)) assert.is(new URL(call.url).pathname, TOKEN_PATH);
  return out;
}

// Hand-picked: token origin, request URL, whether it gets the token ('rejected': the URL cannot be sent at all).
const table: [string, string, boolean | 'rejected'][] = [
  ['https://api.example', 'https://api.example/v2/items', true],
  ['https://api.example', 'https://API.Example/v2/items', true],
  ['https://api.example', 'HTTPS://api.example/v2/items', true],
  ['https://api.example', 'https://api.example:443/v2/items', true],
  ['https://api.example:443', 'https://api.example/v2/items', true],
  ['https://API.EXAMPLE:443/v2/', 'https://api.example/v2/items', true],
  ['https://api.example', 'https://api%2eexample/v2/items', true],
  ['https://api.example', 'https://api.example./v2/items', false],
  ['https://api.example.', 'https://api.example/v2/items', false],
  ['https://api.example', 'http://api.example/v2/items', false],
  ['https://api.example', 'https://api.example:8443/v2/items', false],
  ['https://api.example', 'https://api.example:80/v2/items', false],
  ['https://api.example:8443', 'https://api.example/v2/items', false],
  ['https://api.example', 'https://api.example@evil.test/v2/items', 'rejected'],
  ['https://api.example', 'https://user:pass@api.example/v2/items', 'rejected'],
  ['https://api.example', 'https://evil.test/v2/items?https://api.example', false],
  ['https://api.example', 'https://evil.test/v2/items#@api.example', false],
  ['https://api.example', 'https://evil.test/v2/items?@api.example', false],
  ['https://api.example', 'https://api.example.evil.test/v2/items', false],
  ['https://api.example', 'https://evil-api.example/v2/items', false],
  ['https://api.example', 'https://evil.test/v2/items/https://api.example/', false],
  ['https://api.example', 'https://api.example%2eevil.test/v2/items', false],
  ['https://bücher.example', 'https://xn--bcher-kva.example/v2/items', true],
  ['https://xn--bcher-kva.example', 'https://BÜCHER.example/v2/items', true],
  ['https://xn--bcher-kva.example', 'https://bucher.example/v2/items', false],
  ['https://пример.example', 'https://xn--e1afmkfd.example/v2/items', true],
  ['http://127.0.0.1:8080', 'http://127.1:8080/v2/items', true],
  ['http://127.0.0.1:8080', 'http://2130706433:8080/v2/items', true],
  ['http://127.0.0.1:8080', 'http://0x7f.0.0.1:8080/v2/items', true],
  ['http://127.0.0.1:8080', 'http://127.0.0.1.:8080/v2/items', true],
  ['http://127.0.0.1:8080', 'http://localhost:8080/v2/items', false],
  ['http://127.0.0.1:8080', 'http://[::1]:8080/v2/items', false],
  ['http://127.0.0.1:8080', 'http://127.0.0.2:8080/v2/items', false],
  ['http://127.0.0.1:8080', 'http://127.0.0.1:8081/v2/items', false],
  ['http://127.0.0.1:8080', 'http://127.0.0.1/v2/items', false],
  ['http://127.0.0.1:8080', 'https://127.0.0.1:8080/v2/items', false],
  ['http://[::1]:3000', 'http://[0:0:0:0:0:0:0:1]:3000/v2/items', true],
  ['http://[::1]:3000', 'http://[::ffff:127.0.0.1]:3000/v2/items', false],
  ['http://localhost', 'http://LOCALHOST:80/v2/items', true],
  ['http://localhost', 'http://localhost./v2/items', false],
  ['http://localhost', 'http://127.0.0.1/v2/items', false],
];

test('hand-picked origins get the token exactly when they are the token origin', async () => {
  for (const [origin, url, expected] of table) {
    const [got] = await attached(origin, [url]);
    assert.is(got, expected, `${origin} -> ${url}`);
  }
});

test('a token goes to every listed origin in its normalized forms and to no other', async () => {
  const got = await attached(
    'https://api.example',
    ['https://EU.api.example:443/v2/items', 'https://us.api.example/v2/items'],
    ['https://api.example', 'https://eu.api.example'],
  );
  assert.equal(got, [true, false]);
});

// Generated hosts: ASCII labels and internationalized ones (never ß or other labels whose case mapping changes length).
const asciiLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/).filter((l) => !l.startsWith('xn') && !/^\d+$/.test(l));
const idnLabel = fc.constantFrom('bücher', 'münchen', 'café', 'παράδειγμα', 'пример', '例え', 'ñandú');
const host = fc
  .tuple(fc.array(fc.oneof(asciiLabel, idnLabel), { minLength: 1, maxLength: 3 }), fc.constantFrom('example', 'test', 'io'))
  .map(([labels, tld]) => [...labels, tld].join('.'));
const loopback = fc.constantFrom('localhost', '127.0.0.1', '[::1]');

interface Parts {
  scheme: 'http' | 'https';
  host: string;
  port: number | undefined;
}
const defaultPort = (scheme: string) => (scheme === 'https' ? 443 : 80);
// The oracle: the scheme, the IDNA form of the host, the port with the default made explicit.
const canonical = (p: Parts) => `${p.scheme}|${p.host.startsWith('[') ? p.host : domainToASCII(p.host)}|${p.port ?? defaultPort(p.scheme)}`;

// How a request's origin is spelled: the host in Unicode or punycode, with random case, the default port written or not.
const spell = (p: Parts, s: { punycode: boolean; upper: boolean[]; explicitPort: boolean; upperScheme: boolean }) => {
  let h = p.host.startsWith('[') || !s.punycode ? p.host : domainToASCII(p.host);
  h = [...h].map((c, i) => (s.upper[i % s.upper.length] ? c.toUpperCase() : c)).join('');
  const port = p.port ?? (s.explicitPort ? defaultPort(p.scheme) : undefined);
  return `${s.upperScheme ? p.scheme.toUpperCase() : p.scheme}://${h}${port === undefined ? '' : `:${port}`}`;
};
const spelling = fc.record({
  punycode: fc.boolean(),
  upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  explicitPort: fc.boolean(),
  upperScheme: fc.boolean(),
});
const port = fc.option(fc.constantFrom(443, 80, 8080, 8443, 3000), { nil: undefined });
const parts: fc.Arbitrary<Parts> = fc.record({
  scheme: fc.constantFrom('http', 'https'),
  host: fc.oneof({ weight: 4, arbitrary: host }, loopback),
  port,
});

// IP literals take no label mutation: a trailing dot is part of IPv4 syntax, and a label before one is no host at all.
const named = (h: string) => !h.startsWith('[') && !/^[\d.]+$/.test(h);

// A request origin near the token's: the same one respelled, or one part changed (scheme, port, a trailing dot, a sub- or superdomain).
const near = (a: Parts): fc.Arbitrary<Parts> =>
  fc.oneof(
    fc.constant(a),
    fc.constant(a),
    fc.constantFrom('http', 'https').map((scheme) => ({ ...a, scheme }) as Parts),
    port.map((p) => ({ ...a, port: p })),
    fc.constant({ ...a, host: named(a.host) ? `${a.host}.` : a.host }),
    asciiLabel.map((l) => ({ ...a, host: named(a.host) ? `${l}.${a.host}` : a.host })),
    fc.constant({ ...a, host: a.host.includes('.') && named(a.host) ? a.host.slice(a.host.indexOf('.') + 1) : a.host }),
    parts,
  );

test('a token is attached exactly when the request origin equals the token origin after normalization', async () => {
  const scenario = parts.chain((a) =>
    fc.tuple(
      fc.constant(a),
      spelling,
      fc.array(fc.tuple(near(a), spelling, fc.option(fc.oneof(host, fc.constant('user:pass')), { nil: undefined })), {
        minLength: 1,
        maxLength: 4,
      }),
    ),
  );
  await fc.assert(
    fc.asyncProperty(scenario, async ([a, aSpelling, requests]) => {
      const urls = requests.map(([b, s, userinfo]) => {
        const origin = spell(b, s);
        return userinfo === undefined ? `${origin}/v2/items` : origin.replace('://', `://${userinfo}@`) + '/v2/items';
      });
      const got = await attached(`${spell(a, aSpelling)}/v2/`, urls);
      requests.forEach(([b, , userinfo], i) => {
        const expected = userinfo !== undefined ? 'rejected' : canonical(b) === canonical(a);
        assert.is(got[i], expected, `${spell(a, aSpelling)} -> ${urls[i]}`);
      });
    }),
    params,
  );
});

test.run();
