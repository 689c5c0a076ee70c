// Where the key and the tokens may go: never to another origin (redirects included), never over plain HTTP to a host
// that is not loopback. With the platform's fetch over real sockets, as an application runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { authToken, InsecureTransportError, TokenExchangeError } from '@sluice/auth-token';
import { compose, hasCode } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import { createCyberhavenClient } from '@sluice/cyberhaven';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';

const KEY = 'sk_live_SCOPE_0123456789abcdef';
const TOKEN = 'tok-scope-0123456789';
const STATUSES = [301, 302, 307, 308];

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function listen(handler: Handler, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((done) => server.listen(0, host, done));
  return { server, url: `http://${host}:${(server.address() as AddressInfo).port}` };
}

/** A server that records the authorization header and body of every request it gets. */
async function recorder(host?: string) {
  const seen: { path: string; authorization: string | null; body: string }[] = [];
  const { server, url } = await listen((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization ?? null, body });
      res.end('{}');
    });
  }, host);
  return { server, url, seen };
}

test('the token follows no 301, 302, 307 or 308 to another host, or to the same host on another port', async () => {
  const otherHost = await recorder('127.0.0.1');
  const otherPort = await recorder('127.0.0.1');
  const api = await listen((req, res) => {
    if (req.url === '/v2/auth/token/access') return res.end(JSON.stringify({ access_token: TOKEN, expires_in: 900 }));
    const [, , where, status] = (req.url ?? '').split('/');
    // `localhost` is another host than `127.0.0.1`: another origin without DNS.
    const target = where === 'host' ? otherHost.url.replace('127.0.0.1', 'localhost') : otherPort.url;
    res.writeHead(Number(status), { location: `${target}/steal/${where}/${status}` }).end();
  });
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: api.url })]);
  try {
    for (const where of ['host', 'port']) {
      for (const status of STATUSES) {
        for (const method of ['GET', 'POST']) {
          const body = method === 'POST' ? '{"q":1}' : undefined;
          assert.is((await fetch(`${api.url}/v2/${where}/${status}`, { method, body })).status, 200);
        }
      }
    }
    const seen = [...otherHost.seen, ...otherPort.seen];
    assert.is(seen.length, 16, 'every redirect was followed');
    assert.equal(
      seen.filter((s) => s.authorization !== null || s.body.includes(KEY)),
      [],
    );
  } finally {
    await fetch.close();
    for (const s of [api.server, otherHost.server, otherPort.server]) s.close();
  }
});

test('a redirect within the origin keeps the token', async () => {
  const api = await listen((req, res) => {
    if (req.url === '/v2/auth/token/access') return res.end(JSON.stringify({ access_token: TOKEN, expires_in: 900 }));
    if (req.url === '/v2/echo') return res.end(JSON.stringify({ authorization: req.headers.authorization }));
    res.writeHead(307, { location: '/v2/echo' }).end();
  });
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: api.url })]);
  try {
    assert.equal(await (await fetch(`${api.url}/v2/moved`)).json(), { authorization: `Bearer ${TOKEN}` });
  } finally {
    await fetch.close();
    api.server.close();
  }
});

test('a token endpoint that redirects gets the key no further: the exchange fails', async () => {
  const elsewhere = await recorder();
  for (const status of STATUSES) {
    const api = await listen((_req, res) => res.writeHead(status, { location: `${elsewhere.url}/v2/auth/token/access` }).end());
    const fetch = compose([authToken({ apiKey: KEY, baseUrl: api.url })]);
    try {
      const error = await rejects(fetch(`${api.url}/v2/items`), TokenExchangeError);
      assert.is((error as TokenExchangeError).status, status);
    } finally {
      await fetch.close();
      api.server.close();
    }
  }
  elsewhere.server.close();
  assert.equal(elsewhere.seen, []);
});

test('an https API that redirects to http sends no token over http (301, 302, 307, 308)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
        ...['-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'ignore' },
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/audit/https-redirect.ts', key, cert], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.is(child.status, 0, child.stderr);
    const { echo, seen } = JSON.parse(child.stdout) as { echo: string; seen: { path: string; authorization: string | null }[] };
    assert.is(echo, 'Bearer tok-https-0123456789', 'the https origin itself gets the token');
    assert.equal(
      seen.map((s) => s.path),
      STATUSES.map((s) => `/steal/${s}`),
    );
    assert.equal(
      seen.map((s) => s.authorization),
      [null, null, null, null],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no option sends the key or a token over http to a host that is not loopback', async () => {
  const transport = createFakeTransport();
  const insecure = [
    () => authToken({ apiKey: KEY, baseUrl: 'http://api.example' }),
    () => authToken({ apiKey: KEY, tokenUrl: 'http://api.example/v2/auth/token/access' }),
    () => authToken({ apiKey: KEY, baseUrl: 'https://api.example', tokenUrl: 'http://auth.example/token' }),
    () => authToken({ apiKey: KEY, baseUrl: 'https://api.example', origins: ['https://api.example', 'http://api.example'] }),
    () => createCyberhavenClient({ apiKey: KEY, baseUrl: 'http://tenant.example', fetch: transport.fetch }),
  ];
  for (const make of insecure) {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof InsecureTransportError && hasCode(error, 'ERR_SLUICE_INSECURE_TRANSPORT'), String(error));
  }
  // A call to the http twin of an https origin is another origin: it gets no token and causes no exchange.
  transport.fallback(() => new Response('{}'));
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: 'https://api.example' })], { fetch: transport.fetch });
  await fetch('http://api.example/v2/items');
  assert.equal(
    transport.calls.map((c) => [c.url, c.headers.get('authorization')]),
    [['http://api.example/v2/items', null]],
  );
  await fetch.close();
});

test('with a custom token header, a redirect is handed back to the caller, not followed with the token', async () => {
  const elsewhere = await recorder();
  const api = await listen((req, res) => {
    if (req.url === '/v2/auth/token/access') return res.end(JSON.stringify({ access_token: TOKEN, expires_in: 900 }));
    res.writeHead(302, { location: `${elsewhere.url.replace('127.0.0.1', 'localhost')}/steal` }).end();
  });
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: api.url, header: 'x-api-token', scheme: '' })]);
  try {
    const response = await fetch(`${api.url}/v2/moved`);
    assert.is(response.status, 302);
    assert.ok(response.headers.get('location')?.endsWith('/steal'));
    assert.equal(elsewhere.seen, []);
  } finally {
    await fetch.close();
    api.server.close();
    elsewhere.server.close();
  }
});

test.run();
