// The consumer suite: every package packed as it would be published (`pnpm pack`), installed from its tarball into
// fresh projects outside the workspace (npm; pnpm strict), and used there as a user would: the README's ten lines
// and the preset's README example against the simulator (itself installed from its tarball) in Node ESM and
// CommonJS, Deno through npm: specifiers and a bundled Worker in workerd; every entry point loaded both ways; the
// bins; the type checker under node16 and bundler resolution. Then the same checks on broken tarballs, to show that
// they fail (sabotage.mjs). See README.md. Build first: npx -y pnpm@12.4.2 build.
// Usage: node test/consumer/run.mjs [--filter text]... [--keep] [--sabotage kind --from packs-dir]
// Closing line: `consumer: N passed, M failed`.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { allChecks } from './checks.mjs';
import { entryPoints } from './programs.mjs';
import { ancestorNodeModules, exec, installNpm, installPnpm } from './projects.mjs';
import { sabotages } from './sabotage.mjs';
import { manifestOf, packAll, readTarball, writeTarball } from './tarball.mjs';

const root = resolve(import.meta.dirname, '../..');
// Checks at once: most of their time is process start-up and I/O; CI has 2 cores.
const CONCURRENCY = 3;

const args = process.argv.slice(2);
const option = (flag) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const filters = [];
for (let f = option('--filter'); f !== undefined; f = option('--filter')) filters.push(f);
const sabotage = option('--sabotage');
const from = option('--from');
const keep = args.includes('--keep');
if (sabotage && !sabotages[sabotage]) throw new Error(`no sabotage named ${sabotage}: ${Object.keys(sabotages).join(', ')}`);

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'sluice-consumer-'));
// One npm cache and one pnpm store for every project and every run (content-addressed, safe to share).
const cache = join(tmpdir(), 'sluice-consumer-cache');
const results = [];

function record(name, ok, detail, ms) {
  results.push({ name, ok });
  const time = ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)} s)`;
  const more = detail ? `\n${String(detail).trim().replace(/^/gm, '      ')}` : '';
  console.log(`${ok ? '✓' : '✗'} ${name}${time}${more}`);
}

async function test(name, fn) {
  const at = Date.now();
  try {
    const note = await fn();
    record(name, true, note, Date.now() - at);
    return true;
  } catch (error) {
    record(name, false, error?.message ?? String(error), Date.now() - at);
    return false;
  }
}

async function pool(tasks, limit) {
  const queue = [...tasks];
  const worker = async () => {
    while (queue.length > 0) await queue.shift()();
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

// ── the tarballs
async function tarballs() {
  const destination = join(work, 'packs');
  mkdirSync(destination, { recursive: true });
  let packs;
  if (from) {
    packs = readdirSync(from)
      .filter((file) => file.endsWith('.tgz'))
      .map((file) => {
        copyFileSync(join(from, file), join(destination, file));
        const { name, version } = manifestOf(readTarball(join(destination, file)));
        return { name, version, filename: join(destination, file) };
      });
  } else {
    await test('pnpm pack packs every package', async () => {
      packs = await packAll(root, destination);
      return `${packs.length} tarballs`;
    });
  }
  if (sabotage && packs) {
    const { package: name, apply } = sabotages[sabotage];
    const target = packs.find((p) => p.name === name);
    const files = readTarball(target.filename);
    apply(files);
    writeTarball(target.filename, files);
  }
  return packs ?? [];
}

// A packed manifest names versions, not workspace: or catalog: ranges, and every file it points at is in the tarball.
function checkManifest(files) {
  const pkg = manifestOf(files);
  const problems = [];
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dependency, range] of Object.entries(pkg[field] ?? {})) {
      if (/^(workspace|catalog):/.test(range)) problems.push(`${field}.${dependency} is ${range}`);
    }
  }
  const targets = [];
  const collect = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect([pkg.exports, pkg.main, pkg.module, pkg.types, pkg.bin]);
  for (const target of new Set(targets)) {
    if (!files.has(`package/${target.replace(/^\.\//, '')}`)) problems.push(`${target} is named by the manifest but not in the tarball`);
  }
  for (const file of ['README.md', 'LICENSE']) if (!files.has(`package/${file}`)) problems.push(`no ${file}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

// ── the projects and the checks
async function consumerChecks(packs) {
  const project = (label, name, install) => ({ label, dir: join(work, name), install });
  const projects = { npm: project('npm', 'npm', installNpm), pnpm: project('pnpm strict', 'pnpm', installPnpm) };
  const { checks, stop } = allChecks(projects, root);
  const selected = checks.filter(({ name }) => filters.length === 0 || filters.some((f) => name.includes(f)));
  const needed = new Set(selected.map((check) => check.project));
  for (const p of needed) {
    const what = p.label === 'npm' ? 'npm installs' : 'pnpm (strict: no hoisting, store outside the project) installs';
    p.ready = test(`${what} every tarball into a fresh project outside the workspace`, async () => {
      const leaks = ancestorNodeModules(p.dir);
      if (leaks.length > 0) throw new Error(`the project would also resolve from ${leaks.join(', ')}`);
      await p.install({ dir: p.dir, packs, root, cache });
    });
  }
  const context = { specifiers: entryPoints(packs.map(({ filename }) => manifestOf(readTarball(filename)))) };
  try {
    await pool(
      selected.map((check) => async () => {
        if (!(await check.project.ready)) return record(check.name, false, 'its project did not install');
        await test(check.name, () => check.run(check.project.dir, context));
      }),
      CONCURRENCY,
    );
  } finally {
    await stop();
  }
}

// ── the same checks on broken tarballs, each in a run of its own
async function sabotageChecks() {
  const packs = join(work, 'packs');
  const entries = Object.entries(sabotages).map(([kind, { package: name, what, fails }]) => async () => {
    await test(`a tarball of ${name} ${what} fails: ${fails.join('; ')}`, async () => {
      const argv = [join(import.meta.dirname, 'run.mjs'), '--sabotage', kind, '--from', packs, ...fails.flatMap((f) => ['--filter', f])];
      const { code, stdout, stderr } = await exec(process.execPath, argv, { timeoutMs: 600_000 });
      const failed = stdout.split('\n').filter((line) => line.startsWith('✗ '));
      const passedInstalls = stdout.split('\n').filter((line) => line.startsWith('✓ ') && line.includes('installs every tarball'));
      const missing = fails.filter((f) => !failed.some((line) => line.includes(f)));
      const show = () => `\n${(stdout + stderr).trim().slice(-3000)}`;
      if (code === 0) throw new Error(`the run passed${show()}`);
      if (passedInstalls.length === 0) throw new Error(`no project installed, so nothing was checked${show()}`);
      if (missing.length > 0) throw new Error(`these did not fail: ${missing.join('; ')}${show()}`);
    });
  });
  await pool(entries, 2);
}

try {
  const packs = await tarballs();
  for (const { name, version, filename } of packs) {
    await test(`pack: ${name}@${version} names versions for its dependencies and holds every file its manifest points at`, () =>
      checkManifest(readTarball(filename)));
  }
  if (packs.length > 0) await consumerChecks(packs);
  const selfTest = filters.length === 0 || filters.some((f) => 'a tarball of'.includes(f));
  if (!sabotage && packs.length > 0 && selfTest) await sabotageChecks();
} finally {
  if (keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
if (failed.length > 0) console.log(`\nfailed: ${failed.map((r) => r.name).join(', ')}`);
console.log(`\nconsumer suite: ${((Date.now() - started) / 1000).toFixed(1)} s${sabotage ? ` (sabotage: ${sabotage})` : ''}`);
console.log(`consumer: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length > 0 || results.length === 0 ? 1 : 0;
