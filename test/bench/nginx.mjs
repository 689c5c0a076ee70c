// A real nginx for the sections that measure against one (gateway, learn): Debian's package (installed when missing and
// root), started on loopback with a generated config in a temporary prefix, in front of a node:http upstream.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage, findBinary } from '../debian.mjs';
import { sleep } from './common.mjs';

/** nginx's binary and version, or what kept it from being installed. */
export function findNginx(log) {
  const problem = ensureDebianPackage('nginx', 'nginx', log);
  const bin = findBinary('nginx');
  if (!bin) return { problem };
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', '');
  return { bin, version };
}

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** A node:http upstream on loopback answering every request `latencyMs` after its body, as `answer(request)` says. */
export function startUpstream(latencyMs, answer = () => ({ status: 200, body: '{"ok":true}' })) {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      setTimeout(() => {
        const { status, body } = answer(request);
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body);
      }, latencyMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** How a location proxies to the upstream `app`, on kept-alive connections. */
export const PROXY = `proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";`;

/**
 * A config for a prefix: one worker in the foreground, an access log of `$http_x_bench_client $status $msec` lines, the
 * upstream `app` on `upstreamPort`, and `http` (zones and servers) inside the http block.
 */
export function nginxConfig(prefix, upstreamPort, http) {
  return `
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  log_format bench '$http_x_bench_client $status $msec';
  access_log ${prefix}/access.log bench;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 32; }
${http}
}
`;
}

/** A temporary prefix holding `config(prefix)` as its nginx.conf; `remove()` deletes it. */
export function nginxPrefix(config) {
  const prefix = mkdtempSync(join(tmpdir(), 'sluice-nginx-'));
  writeFileSync(join(prefix, 'nginx.conf'), config(prefix));
  return { prefix, remove: () => rmSync(prefix, { recursive: true, force: true }) };
}

/** Starts nginx on the prefix's config; resolves once it answers on `probePort`. */
export async function startNginx(bin, prefix, probePort) {
  mkdirSync(join(prefix, 'tmp'), { recursive: true, mode: 0o777 });
  const child = spawn(bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(`http://127.0.0.1:${probePort}/`).then(
      () => true,
      () => false,
    );
    if (up) return child;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start: ${stderr || readFileSync(join(prefix, 'error.log'), 'utf8')}`);
}

/** Stops nginx gracefully, killing it after 3 s. */
export async function stopNginx(child) {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGQUIT');
  await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(3000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Requests and 429s per X-Bench-Client from the access log, with each 429's epoch ms. */
export function countLog(prefix) {
  const counts = new Map();
  for (const line of readFileSync(join(prefix, 'access.log'), 'utf8').split('\n')) {
    const [client, status, msec] = line.split(' ');
    if (!client || client === '-') continue;
    const c = counts.get(client) ?? { requests: 0, refused: 0, refusedAt: [] };
    c.requests++;
    if (status === '429') {
      c.refused++;
      c.refusedAt.push(Number(msec) * 1000);
    }
    counts.set(client, c);
  }
  return counts;
}
