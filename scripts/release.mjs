// `pnpm release`: builds and checks (the whole test command: build, types, lint, every suite, the packed tarballs in
// fresh projects), then publishes every public package whose version is not on the registry yet, with provenance
// (`changeset publish`: pnpm publish per package, a git tag each). Run it in CI, on a clean main, after
// `pnpm changeset version` has been merged.
//
// `pnpm release --dry-run` runs the same build and checks, then `pnpm publish -r --dry-run`, and prints what would be
// published: each package with its version, its tarball and whether that version is on the registry already. It
// publishes nothing and writes nothing to a registry (it reads from one: `npm view`).
// `--skip-checks` (only with --dry-run) prints the list without the test command, about 5 minutes shorter.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const skipChecks = args.includes('--skip-checks');
const PNPM = ['-y', 'pnpm@12.4.2'];

function run(command, argv) {
  console.log(`\n$ ${command} ${argv.join(' ')}`);
  const { status } = spawnSync(command, argv, { cwd: root, stdio: 'inherit' });
  if (status !== 0) {
    console.error(`\nrelease stopped: ${command} ${argv.join(' ')} exited ${status}`);
    process.exit(1);
  }
}

const capture = (command, argv) => spawnSync(command, argv, { cwd: root, encoding: 'utf8' });

if (skipChecks && !dryRun) {
  console.error('--skip-checks is for --dry-run only: a release is never published unchecked');
  process.exit(1);
}

// Changesets not yet turned into versions: what would be published is the versions as they stand.
const pending = readdirSync(join(root, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
if (pending.length > 0) {
  const message = `${pending.length} changeset(s) not versioned yet (${pending.join(', ')}): run \`pnpm changeset version\` first`;
  if (!dryRun) {
    console.error(`release stopped: ${message}`);
    process.exit(1);
  }
  console.log(`note: ${message}; the list below is the versions as they stand`);
}

if (!dryRun) {
  const branch = capture('git', ['rev-parse', '--abbrev-ref', 'HEAD']).stdout.trim();
  const dirty = capture('git', ['status', '--porcelain']).stdout.trim();
  if (branch !== 'main' || dirty) {
    console.error(`release stopped: publish from a clean main (on ${branch}${dirty ? ', with uncommitted changes' : ''})`);
    process.exit(1);
  }
}

if (skipChecks) run('npx', [...PNPM, 'build']);
else run(process.execPath, ['test/all.mjs']);

const packages = readdirSync(join(root, 'packages'))
  .map((name) => JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')))
  .filter((pkg) => !pkg.private);

/** Whether name@version is on the registry: `npm view` answers the version, or E404. */
function published({ name, version }) {
  const result = capture('npm', ['view', `${name}@${version}`, 'version', '--json']);
  if (result.status === 0) return result.stdout.trim() !== '';
  if (/E404|is not in this registry/.test(result.stderr)) return false;
  throw new Error(`npm view ${name}@${version} failed: ${result.stderr.trim().slice(-500)}`);
}

if (!dryRun) {
  run('npx', [...PNPM, 'exec', 'changeset', 'publish']);
  console.log('\npublished; push the tags: git push --follow-tags');
  process.exit(0);
}

run('npx', [...PNPM, '-r', '--filter', './packages/*', 'publish', '--dry-run', '--no-git-checks']);

// What the tarballs hold, packed as publish packs them.
const out = mkdtempSync(join(tmpdir(), 'sluice-release-'));
let packs;
try {
  const json = execFileSync('npx', [...PNPM, '-r', '--filter', './packages/*', 'pack', '--json', '--pack-destination', out], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  packs = new Map(JSON.parse(json).map((p) => [p.name, { files: p.files.length, bytes: readFileSync(p.filename).length }]));
} finally {
  rmSync(out, { recursive: true, force: true });
}

const rows = packages.map((pkg) => {
  const onRegistry = published(pkg);
  const pack = packs.get(pkg.name);
  return [
    pkg.name,
    pkg.version,
    `${pack.files} files, ${(pack.bytes / 1024).toFixed(1)} KB`,
    onRegistry ? 'on npm already: skipped' : 'would publish',
  ];
});
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log('\nWhat `pnpm release` would publish (dry run: nothing was published):\n');
for (const row of rows) console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`);
const count = rows.filter((row) => row[3] === 'would publish').length;
console.log(`\n${count} of ${rows.length} packages would be published, with provenance, to the npm registry.`);
