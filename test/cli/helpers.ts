import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createMockServer, type MockServer, type MockServerOptions } from '@sluice/mock-server';
import { type ServedMock, type ServeOptions, serve } from '@sluice/mock-server/node';
import { build } from 'esbuild';

export const root = resolve(import.meta.dirname, '../..');

/**
 * The CLI as a file node runs. By default its source, bundled once by esbuild (a spawn then starts in 0.2 s instead of
 * tsx's 0.7 s); with SLUICE_CLI=dist, the bin that `SLUICE_PACKAGES=cli npx -y pnpm@12.4.2 build` made.
 */
let bin: Promise<string> | undefined;
export function cliFile(): Promise<string> {
  bin ??= (async () => {
    if (process.env.SLUICE_CLI === 'dist') return join(root, 'packages/cli/dist/cli.mjs');
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    // Split: `--report` imports @sluice/report and Vega only when it is used, as the published CLI does; in one file
    // every spawn would parse them.
    await build({
      entryPoints: [join(root, 'packages/cli/src/cli.ts')],
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outdir,
      outExtension: { '.js': '.mjs' },
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
    return join(outdir, 'cli.mjs');
  })();
  return bin;
}

/** The environment without the developer's own SLUICE_* and CYBERHAVEN_* settings. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(SLUICE|CYBERHAVEN)_/.test(k)) env[k] = v;
  return { ...env, FORCE_COLOR: '0', ...extra };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sluice args...` to the end; `input` is written to its standard input, which is then closed. */
export async function sluice(
  args: string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<Result> {
  const child = spawn(process.execPath, [await cliFile(), ...args], { cwd: root, env: cleanEnv(options.env) });
  return collect(child, options.input, options.timeoutMs);
}

export function collect(child: ChildProcessWithoutNullStreams, input?: string, timeoutMs = 20_000): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  return new Promise((done, fail) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`sluice did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(guard);
      done({ code, stdout, stderr });
    });
  });
}

/** A simulator over loopback HTTP for the length of `fn`. */
export async function withMock<T>(options: ServeOptions, fn: (served: ServedMock) => Promise<T>): Promise<T> {
  const served = await serve({ port: 0, ...options });
  try {
    return await fn(served);
  } finally {
    await served.close();
  }
}

/**
 * A simulator over loopback HTTP whose handler first runs `before` (with the request and the simulator), so a test can
 * set faults per route: the answers are still the simulator's own.
 */
export async function withHookedMock<T>(
  options: MockServerOptions,
  before: (request: Request, mock: MockServer) => void,
  fn: (served: ServedMock) => Promise<T>,
): Promise<T> {
  const mock = createMockServer(options);
  const hooked: MockServer = Object.create(mock, {
    handler: {
      value: (request: Request) => {
        before(request, mock);
        return mock.handler(request);
      },
    },
  });
  try {
    return await withMock({ server: hooked }, fn);
  } finally {
    await mock.close();
  }
}

export const isTokenExchange = (request: Request) => new URL(request.url).pathname === '/v2/auth/token/access';

/** A port nothing listens on: bound, then freed. */
export async function closedPort(): Promise<number> {
  const served = await serve({ port: 0 });
  await served.close();
  return served.port;
}

/** Whether util-linux `script` is here, to give the CLI a pseudo-terminal. */
export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** `node cli args...` inside `script`, so its standard input and output are a pseudo-terminal. */
export async function inTerminal(args: string[], env: Record<string, string>) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, await cliFile(), ...args].map(quote).join(' ');
  return terminal(command, env);
}

/** Runs a shell `command` inside `script`: what it prints, `type` to write to its terminal, `printed` to wait for text. */
export function terminal(command: string, env: Record<string, string> = {}) {
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: root, env: cleanEnv({ ...env, TERM: 'dumb' }) });
  let output = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  exited.then(() => clearTimeout(guard));
  return {
    get output() {
      return output;
    },
    type: (text: string) => void child.stdin.write(text),
    async printed(text: string, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (Date.now() > until) throw new Error(`never printed ${JSON.stringify(text)}; printed: ${JSON.stringify(output)}`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 100);
        });
      }
    },
    async exit() {
      const code = await exited;
      child.stdin.destroy();
      return code;
    },
  };
}
