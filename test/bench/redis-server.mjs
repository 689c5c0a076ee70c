// A redis-server of the benchmark's own on a free loopback port, installed from Debian's package when missing (as root).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from '../debian.mjs';

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const ping = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      socket.destroy();
      resolve(String(d).startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
  });

/** Starts redis-server without persistence; resolves once it answers PING, with its port and `stop()`. */
export async function startRedisServer() {
  const problem = ensureDebianPackage('redis-server');
  if (spawnSync('redis-server', ['--version']).error)
    throw new Error(`redis-server not found on PATH (${problem ?? 'Debian: apt-get install redis-server'})`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; !(await ping(port)); i++) {
    if (i > 250) throw new Error('redis-server did not answer PING');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
