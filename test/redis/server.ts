// Starts a real redis-server on a free loopback port for the suites, and stops it. Never skips: without the binary it throws.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Sends one command (inline protocol) and resolves with the raw reply. */
  command(...args: string[]): Promise<string>;
  /** Kills the server (SIGKILL, as a crash would) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function send(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => socket.destroy(new Error('redis command timed out')), timeoutMs);
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`redis-server: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `cluster: true` starts a one-node Redis Cluster holding every slot: a script touching two slots then fails (CROSSSLOT). */
export async function startRedis(options: { port?: number; cluster?: boolean } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
    if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${Date.now()}.conf`));
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let failure: Error | undefined;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('error', (error: NodeJS.ErrnoException) => {
      failure =
        error.code === 'ENOENT'
          ? new Error('redis-server not found on PATH: install it (Debian: apt-get install redis-server). The redis suites never skip.')
          : error;
    });
    await until(async () => {
      if (failure) throw failure;
      return (await send(port, ['PING'])).startsWith('+PONG');
    }, 'no PONG').catch((error) => {
      throw failure ?? error;
    });
    if (options.cluster) {
      await send(port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
      await until(async () => (await send(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 'cluster not ok');
    }
  };

  const kill = async () => {
    child?.kill('SIGKILL');
    await exited;
    child = undefined;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command: (...args) => send(port, args),
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
