// Run by token-scope.test.ts with NODE_EXTRA_CA_CERTS set to a throwaway certificate for 127.0.0.1: an HTTPS API that
// redirects to plain HTTP. Prints what the HTTP server saw, as JSON.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';

const [keyFile, certFile] = process.argv.slice(2) as [string, string];
const seen: { path: string; authorization: string | null }[] = [];
const plain = createServer((req, res) => {
  seen.push({ path: req.url ?? '', authorization: req.headers.authorization ?? null });
  res.end('{}');
});
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
const downgrade = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
const secure = createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (req, res) => {
  if (req.url === '/v2/auth/token/access') return res.end(JSON.stringify({ access_token: 'tok-https-0123456789', expires_in: 900 }));
  if (req.url === '/v2/echo') return res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
  const status = Number(req.url?.split('/').pop());
  res.writeHead(status, { location: `${downgrade}/steal/${status}` }).end();
});
await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
const base = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
const api = compose([authToken({ apiKey: 'sk_live_HTTPS_0123456789abcdef', baseUrl: base })]);
const echo = (await (await api(`${base}/v2/echo`)).json()) as { authorization: string | null };
for (const status of [301, 302, 307, 308]) await (await api(`${base}/v2/redirect/${status}`)).arrayBuffer();
await api.close();
secure.close();
plain.close();
process.stdout.write(JSON.stringify({ echo: echo.authorization, seen }));
