// Packaging gate for every package under packages/, run on the built packages:
//   publint     lints the package as packed (pnpm pack, so catalog: and workspace: versions are resolved);
//   attw        @arethetypeswrong/core on the same tarball: every entry's ESM, CJS and types must resolve under
//               node10, node16 (CJS and ESM) and bundler resolution;
//   size        each public entry (every `exports` subpath) bundled by esbuild from dist (minified ESM, its
//               dependencies and @sluice/* left external), gzipped at level 9, against size-budget.json.
// Dependencies are measured the same way, each on its own, and listed beside the table (not counted).
// Usage: node test/packaging/check.mjs [package...] [--markdown FILE]
// Closing line: `packaging: N passed, M failed` (one test per package per check).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { build } from 'esbuild';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = resolve(import.meta.dirname, '../..');
const tmp = join(import.meta.dirname, '.tmp');
const budgets = JSON.parse(readFileSync(join(import.meta.dirname, '../../size-budget.json'), 'utf8'));

const args = process.argv.slice(2);
const markdownAt = args.indexOf('--markdown');
const markdownFile = markdownAt >= 0 ? args.splice(markdownAt, 2)[1] : undefined;
const only = new Set(args);

const packages = readdirSync(join(root, 'packages'))
  .filter((name) => existsSync(join(root, 'packages', name, 'package.json')))
  .filter((name) => only.size === 0 || only.has(name))
  .sort()
  .map((name) => {
    const dir = join(root, 'packages', name);
    return { name, dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
  })
  .filter(({ pkg }) => !pkg.private);

const results = [];
const record = (name, ok, details = []) => {
  results.push({ name, ok, details });
  console.log(`${ok ? '✓' : '✗'} ${name}${details.length ? `\n${details.map((d) => `      ${d}`).join('\n')}` : ''}`);
};

function pack(dir) {
  const out = join(tmp, 'packs', dir.split('/').pop());
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  return new Promise((done, fail) => {
    execFile('npx', ['--yes', 'pnpm@12.4.2', 'pack', '--pack-destination', out], { cwd: dir }, (error, stdout, stderr) => {
      const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
      if (error || !tarball) fail(new Error(`pnpm pack failed: ${(stderr || stdout || error?.message || '').trim().slice(-800)}`));
      else done(readFileSync(join(out, tarball)));
    });
  });
}

async function runPublint(name, tarball) {
  const { messages, pkg } = await publint({
    pkgDir: 'package',
    level: 'suggestion',
    strict: true,
    pack: { tarball: tarball.buffer.slice(0) },
  });
  // Errors and warnings fail (strict makes warnings errors); suggestions are shown only.
  const details = messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
  record(`${name}: publint`, !messages.some((m) => m.type === 'error'), details);
}

async function runAttw(name, tarball) {
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(tarball)));
  if (analysis.types === false) return record(`${name}: attw`, false, ['the package ships no types']);
  const details = analysis.problems.map((p) => {
    const where = p.entrypoint ? `${p.entrypoint} under ${p.resolutionKind}` : (p.typesFileName ?? p.fileName ?? '');
    return `${p.kind}: ${where}`;
  });
  for (const [subpath, info] of Object.entries(analysis.entrypoints)) {
    for (const [kind, resolution] of Object.entries(info.resolutions)) {
      if (!resolution.resolution) details.push(`types do not resolve: ${subpath} under ${kind}`);
      if (!resolution.implementationResolution) details.push(`JavaScript does not resolve: ${subpath} under ${kind}`);
    }
  }
  record(`${name}: attw (node10, node16-cjs, node16-esm, bundler)`, details.length === 0, [...new Set(details)]);
}

// Node built-ins (a `./node` entry's) are the platform's, not the package's code.
const builtins = ['node:*', ...builtinModules];
const dependenciesOf = (pkg) => [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const externalsOf = (pkg) => [...dependenciesOf(pkg), '@sluice/*', ...builtins];

async function gzipBundle(contents, resolveDir, external) {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'js' },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    external,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { min: code.byteLength, gz: gzipSync(code, { level: 9 }).byteLength };
}

// The ESM file an `exports` subpath points at.
function importTarget(value) {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return undefined;
  for (const key of ['import', 'default', 'module']) {
    const target = importTarget(value[key]);
    if (target && !target.endsWith('.d.mts') && !target.endsWith('.d.ts')) return target;
  }
  return undefined;
}

const sizeRows = [];
const dependencyRows = new Map();

async function runSize(name, dir, pkg) {
  const budget = budgets[pkg.name];
  const details = [];
  let ok = true;
  if (!budget) {
    ok = false;
    details.push(`no budget for ${pkg.name} in size-budget.json`);
  }
  for (const [subpath, value] of Object.entries(pkg.exports ?? { '.': pkg.module ?? pkg.main })) {
    if (subpath.endsWith('.json')) continue;
    const target = importTarget(value);
    const file = target && join(dir, target);
    if (!file || !existsSync(file)) {
      ok = false;
      details.push(`${subpath}: ${target ?? 'no import condition'} is missing (not built?)`);
      continue;
    }
    const size = await gzipBundle(`export * from ${JSON.stringify(file)};`, dir, externalsOf(pkg));
    // What the entry's third-party dependencies add once tree-shaken into it (not counted against the budget).
    if (dependenciesOf(pkg).some((d) => !d.startsWith('@sluice/'))) {
      const whole = await gzipBundle(`export * from ${JSON.stringify(file)};`, dir, ['@sluice/*', ...builtins]);
      size.depsGz = whole.gz - size.gz;
    }
    const limit = budget?.[subpath];
    const within = typeof limit === 'number' && size.gz <= limit;
    if (!within) {
      ok = false;
      details.push(
        typeof limit === 'number' ? `${subpath}: ${size.gz} B gzipped is over its budget of ${limit} B` : `${subpath}: no budget`,
      );
    }
    sizeRows.push({ entry: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, ...size, limit, within });
  }
  for (const dependency of Object.keys(pkg.dependencies ?? {})) {
    if (dependency.startsWith('@sluice/') || dependencyRows.has(dependency)) continue;
    try {
      const size = await gzipBundle(`import * as all from ${JSON.stringify(dependency)};\nexport default all;`, dir, builtins);
      dependencyRows.set(dependency, { ...size, usedBy: [pkg.name] });
    } catch (error) {
      dependencyRows.set(dependency, { error: error.message.split('\n')[0], usedBy: [pkg.name] });
    }
  }
  for (const dependency of Object.keys(pkg.dependencies ?? {})) {
    const row = dependencyRows.get(dependency);
    if (row && !row.usedBy.includes(pkg.name)) row.usedBy.push(pkg.name);
  }
  record(`${name}: size budget`, ok, details);
}

function markdown() {
  const kb = (n) => (n === undefined ? '–' : `${(n / 1024).toFixed(2)} KB`);
  const lines = [
    '| entry | minified | min + gzip | budget | | its dependencies add, tree-shaken |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const r of sizeRows) {
    const deps = r.depsGz === undefined ? '–' : `+${kb(r.depsGz)}`;
    lines.push(`| \`${r.entry}\` | ${kb(r.min)} | ${kb(r.gz)} | ${kb(r.limit)} | ${r.within ? 'ok' : '**over**'} | ${deps} |`);
  }
  if (dependencyRows.size > 0) {
    lines.push('', '| dependency, whole (not counted above) | minified | min + gzip | used by |', '| --- | ---: | ---: | --- |');
    for (const [name, r] of dependencyRows) {
      lines.push(`| \`${name}\` | ${r.error ? r.error : kb(r.min)} | ${r.error ? '' : kb(r.gz)} | ${r.usedBy.join(', ')} |`);
    }
  }
  return lines.join('\n');
}

rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
for (const { name, dir, pkg } of packages) {
  console.log(`\n── ${pkg.name}`);
  let tarball;
  try {
    tarball = await pack(dir);
  } catch (error) {
    record(`${name}: publint`, false, [error.message]);
    record(`${name}: attw (node10, node16-cjs, node16-esm, bundler)`, false, [error.message]);
  }
  if (tarball) {
    for (const [check, run] of [
      ['publint', () => runPublint(name, tarball)],
      ['attw (node10, node16-cjs, node16-esm, bundler)', () => runAttw(name, tarball)],
    ]) {
      try {
        await run();
      } catch (error) {
        record(`${name}: ${check}`, false, [error.stack ?? String(error)]);
      }
    }
  }
  try {
    await runSize(name, dir, pkg);
  } catch (error) {
    record(`${name}: size budget`, false, [error.stack ?? String(error)]);
  }
}

const table = markdown();
console.log(`\n${table}\n`);
if (markdownFile) writeFileSync(resolve(markdownFile), `${table}\n`);
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) console.log(`failed: ${failed.map((r) => r.name).join(', ')}`);
console.log(`packaging: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length > 0 || results.length === 0 ? 1 : 0;
