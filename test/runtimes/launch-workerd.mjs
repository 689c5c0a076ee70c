// Bundles the suite into one Worker script, writes a workerd config for it, serves it on a free loopback
// port and runs each test as its own HTTP request. Returns the results as the other runtimes report them.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { entries } from './packages.mjs';

const STARTUP_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 30_000;
// No compatibility flags: in particular no nodejs_compat, so a `node:` import or `process` in a library fails here.
export const COMPATIBILITY_DATE = '2025-09-01';

// Present packages are imported statically, so they are bundled; missing ones become stand-ins.
function modulesSource(root) {
  const lines = [];
  const fields = [];
  for (const [key, path] of Object.entries(entries)) {
    const file = join(root, path);
    if (existsSync(file)) {
      lines.push(`import * as ${key} from ${JSON.stringify(file)};`);
      fields.push(key);
    } else {
      fields.push(`${key}: { __missing: ${JSON.stringify(`${path} could not be loaded (not built)`)} }`);
    }
  }
  return `${lines.join('\n')}\nexport default { ${fields.join(', ')} };\n`;
}

/** Bundles `entry` (relative to `here`, or absolute) into `tmp/name` as a minified Worker module. */
export async function bundle({ root, tmp, here }, entry, name) {
  const outfile = join(tmp, name);
  await build({
    entryPoints: [resolve(here, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    // Minified as edge deployments are: error names must survive it (they are class fields, not inferred).
    minify: true,
    external: ['cloudflare:*'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'sluice-modules',
        setup(b) {
          b.onResolve({ filter: /^sluice:modules$/ }, () => ({ path: 'sluice:modules', namespace: 'sluice' }));
          b.onLoad({ filter: /.*/, namespace: 'sluice' }, () => ({ contents: modulesSource(root), resolveDir: root, loader: 'js' }));
        },
      },
    ],
  });
  return outfile;
}

function config() {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "tests", worker = .tests), (name = "api", worker = .api) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "tests") ],
);

const tests :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "SELF", service = "tests"), (name = "API", service = "api") ],
);

const api :Workerd.Worker = (
  modules = [ (name = "mock-worker.js", esModule = embed "mock-worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;
}

// Starts workerd with a control descriptor on which it reports the port it bound ("127.0.0.1:0").
export function serve(binary, configFile, cwd) {
  return new Promise((resolveStart, rejectStart) => {
    const child = spawn(binary, ['serve', configFile, '--control-fd=3'], { cwd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let log = '';
    let control = '';
    let started = false;
    const fail = (message) => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rejectStart(new Error(`${message}\n${log.trim().slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`workerd did not report a listening port within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => (log += chunk));
    child.stderr.on('data', (chunk) => (log += chunk));
    child.stdio[3].on('data', (chunk) => {
      control += chunk;
      for (const line of control.split('\n')) {
        const message = line.trim() && JSON.parse(line);
        if (message && message.event === 'listen' && message.socket === 'http' && !started) {
          started = true;
          clearTimeout(timer);
          resolveStart({ port: message.port, stop: () => child.kill('SIGTERM'), log: () => log });
        }
      }
    });
    child.on('error', (error) => fail(`workerd could not start: ${error.message}`));
    child.on('exit', (code, signal) => fail(`workerd exited (${code ?? signal}) before listening`));
  });
}

async function get(base, path) {
  const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(TEST_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export async function startWorkerd({ binary, root, tmp, filter }) {
  const here = import.meta.dirname;
  await bundle({ root, tmp, here }, 'worker.mjs', 'worker.js');
  await bundle({ root, tmp, here }, 'mock-worker.mjs', 'mock-worker.js');
  const configFile = join(tmp, 'workerd.capnp');
  writeFileSync(configFile, config());
  const server = await serve(binary, configFile, tmp);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const names = (await get(base, '/list')).filter((name) => !filter || name.includes(filter));
    const results = [];
    for (const name of names) {
      try {
        results.push(await get(base, `/run?name=${encodeURIComponent(name)}`));
      } catch (error) {
        results.push({ name, ok: false, error: `${error.message}\n${server.log().trim().slice(-1000)}` });
      }
    }
    return results;
  } finally {
    server.stop();
  }
}
