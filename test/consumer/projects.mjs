// The fresh projects the tarballs are installed into, outside the workspace, and the processes run in them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exec as run } from '../exec.mjs';

/**
 * The environment of every process started here: the caller's, without what `pnpm test` adds for its own scripts
 * (`npm_config_local_prefix` would point npm at the repository). Registry, certificate and proxy settings stay.
 */
export function cleanEnv(extra = {}) {
  const keep = /^npm_config_(registry|cafile|ca|proxy|https_proxy|http_proxy|noproxy|strict_ssl)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key) || keep.test(key)));
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Runs a process in the caller's environment without pnpm's; resolves `{ code, stdout, stderr }`, never rejects. */
export const exec = (command, args, { cwd, env = cleanEnv(), timeoutMs = 60_000 } = {}) => run(command, args, { cwd, env, timeoutMs });

/** Throws with the end of the output unless the process exited 0. */
export async function execOk(command, args, options) {
  const result = await exec(command, args, options);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${(result.stderr || result.stdout).trim().slice(-2000)}`);
  return result;
}

/** The node_modules folders a project at `dir` would also resolve from: there must be none. */
export function ancestorNodeModules(dir) {
  const found = [];
  for (let at = dirname(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) found.push(join(at, 'node_modules'));
    if (dirname(at) === at) return found;
  }
}

// What the projects install beside the tarballs, at the versions the repository uses: Node's types for the type
// checks (the README reads process.env), and the OpenTelemetry API that @sluice/monitor/otel's types name (its
// optional peer, which a user of that entry has).
function extras(root) {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const monitor = JSON.parse(readFileSync(join(root, 'packages/monitor/package.json'), 'utf8'));
  return {
    '@types/node': rootPkg.devDependencies['@types/node'],
    '@opentelemetry/api': monitor.devDependencies['@opentelemetry/api'],
  };
}

function manifest(name, packs, root) {
  const dependencies = { ...extras(root) };
  for (const { name: pkg, filename } of packs) dependencies[pkg] = `file:${filename}`;
  return `${JSON.stringify({ name, private: true, type: 'module', dependencies }, null, 2)}\n`;
}

/**
 * npm, as most users install: every tarball a direct dependency, the rest from the registry. The tarballs name each
 * other by version (`^0.1.0`), which the tarballs installed beside them satisfy, so npm asks the registry for none of
 * ours. One npm cache for every project and run.
 */
export async function installNpm({ dir, packs, root, cache }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), manifest('sluice-consumer-npm', packs, root));
  await execOk('npm', ['install', '--prefix', dir, '--cache', join(cache, 'npm'), '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    timeoutMs: 300_000,
  });
}

/**
 * pnpm, strict: no hoisting, and the virtual store outside the project, so a package resolves only what its own
 * manifest declares (under the project's node_modules, its direct dependencies would be visible to every package).
 * Overrides point every @sluice/* dependency at its tarball. Peer ranges are npm's to check: pnpm cannot compare a
 * `file:` tarball with `^0.1.0` and would call every peer unmet, so strictPeerDependencies stays off here.
 */
export async function installPnpm({ dir, packs, root, cache }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), manifest('sluice-consumer-pnpm', packs, root));
  const overrides = packs.map(({ name, filename }) => `  ${JSON.stringify(name)}: ${JSON.stringify(`file:${filename}`)}`);
  const settings = [
    'hoist: false',
    'publicHoistPattern: []',
    `virtualStoreDir: ${JSON.stringify(join(dirname(dir), `${dir.split('/').pop()}-virtual-store`))}`,
    'overrides:',
    ...overrides,
  ];
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), `${settings.join('\n')}\n`);
  await execOk('npx', ['-y', 'pnpm@12.4.2', 'install', '--dir', dir, '--store-dir', join(cache, 'pnpm-store'), '--reporter=silent'], {
    cwd: dir,
    timeoutMs: 300_000,
  });
}
