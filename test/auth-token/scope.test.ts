import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authToken, InsecureTransportError } from '@sluice/auth-token';
import { compose, hasCode } from '@sluice/core';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, harness, KEY } from './helpers.js';

test('a request to another origin gets no token and causes no exchange', async () => {
  const h = harness();
  h.transport.queue(json({ ok: true }));
  await h.fetch('https://evil.example/v2/items', { headers: { 'x-trace': '1' } });
  assert.is(h.api.exchanges, 0);
  assert.is(h.transport.calls[0]?.headers.get('authorization'), null);
  assert.is(h.transport.calls[0]?.headers.get('x-trace'), '1');
});

test('the same host on another scheme or port is another origin and gets no token', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.transport.queue(json({}), json({}));
  await h.fetch('http://api.example/v2/items');
  await h.fetch('https://api.example:8443/v2/items');
  assert.equal(
    h.transport.calls.slice(-2).map((c) => c.headers.get('authorization')),
    [null, null],
  );
});

test('origins lists every origin that gets the token', async () => {
  const h = harness({ origins: [API, 'https://eu.api.example/v2/'] });
  await h.fetch('https://eu.api.example/v2/items');
  assert.is(h.apiCalls()[0]?.headers.get('authorization'), 'Bearer tok-1');
  h.transport.queue(json({}));
  await h.fetch('https://us.api.example/v2/items');
  assert.is(h.transport.calls.at(-1)?.headers.get('authorization'), null);
});

test('http: to a host that is not loopback is refused when the interceptor is created', () => {
  for (const options of [{ baseUrl: 'http://api.example' }, { baseUrl: API, origins: ['http://api.example'] }]) {
    let error: unknown;
    try {
      authToken({ apiKey: KEY, ...options });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof InsecureTransportError);
    assert.ok(hasCode(error, 'ERR_SLUICE_INSECURE_TRANSPORT'));
    assert.is((error as InsecureTransportError).url, 'http://api.example');
  }
});

test('http: is allowed to loopback hosts, and elsewhere only with allowInsecureHttp', async () => {
  for (const baseUrl of ['http://localhost:8080', 'http://127.0.0.1:9000', 'http://[::1]:3000']) {
    const h = harness({ baseUrl });
    assert.is((await h.fetch(`${baseUrl}/v2/items`)).status, 200);
  }
  const h = harness({ baseUrl: 'http://api.internal', allowInsecureHttp: true });
  assert.is((await h.fetch('http://api.internal/v2/items')).status, 200);
});

test('a token follows a redirect only within its origin (platform fetch)', async () => {
  const seen: Record<string, string | null> = {};
  const listen = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<Server>((resolve) => {
      const server = createServer(handler).listen(0, '127.0.0.1', () => resolve(server));
    });
  const other = await listen((req, res) => {
    seen.other = req.headers.authorization ?? null;
    res.end('{}');
  });
  const otherPort = (other.address() as AddressInfo).port;
  const api = await listen((req, res) => {
    if (req.url === '/v2/auth/token/access') return res.end(JSON.stringify({ access_token: 'tok-real', expires_in: 900 }));
    if (req.url === '/v2/same') return res.writeHead(302, { location: '/v2/echo' }).end();
    if (req.url === '/v2/echo') {
      seen.same = req.headers.authorization ?? null;
      return res.end('{}');
    }
    res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/steal` }).end();
  });
  const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: base })]);
  try {
    await fetch(`${base}/v2/same`);
    await fetch(`${base}/v2/away`);
    assert.equal(seen, { same: 'Bearer tok-real', other: null });
  } finally {
    await fetch.close();
    api.close();
    other.close();
  }
});

test.run();
