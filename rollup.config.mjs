// Builds every package under packages/ to ESM, CommonJS and bundled type declarations.
// Entries come from each package.json: every `exports` subpath `./x` (or `.`) builds `src/x.ts`
// (or `src/index.ts`), and every `bin` file `./dist/x.mjs` builds `src/x.ts`. A new package needs no change here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { dts } from 'rollup-plugin-dts';
import esbuild from 'rollup-plugin-esbuild';

const only = process.env.SLUICE_PACKAGES?.split(',');
const packageDirs = readdirSync('packages')
  .filter((name) => existsSync(join('packages', name, 'package.json')))
  .filter((name) => !only || only.includes(name));

function entriesOf(dir, pkg) {
  const entries = {};
  for (const key of Object.keys(pkg.exports ?? {})) {
    if (key.endsWith('.json')) continue;
    const name = key === '.' ? 'index' : key.slice(2);
    entries[name] = join(dir, 'src', `${name}.ts`);
  }
  const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
  const cli = {};
  for (const file of Object.values(bins)) {
    const name = file.replace(/^\.\/dist\//, '').replace(/\.m?js$/, '');
    cli[name] = join(dir, 'src', `${name}.ts`);
  }
  return { entries, cli };
}

function externalFor(pkg) {
  const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
  const builtins = new Set(builtinModules);
  return (id) =>
    id.startsWith('node:') || builtins.has(id) || id.startsWith('@sluice/') || deps.some((d) => id === d || id.startsWith(`${d}/`));
}

const configs = [];
for (const name of packageDirs) {
  const dir = join('packages', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const { entries, cli } = entriesOf(dir, pkg);
  const external = externalFor(pkg);
  const outDir = join(dir, 'dist');
  if (Object.keys(entries).length > 0) {
    configs.push({
      input: entries,
      external,
      plugins: [esbuild({ target: 'es2022', tsconfig: 'tsconfig.base.json' })],
      output: [
        { dir: outDir, format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
        { dir: outDir, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs', exports: 'named' },
      ],
    });
    configs.push({
      input: entries,
      external,
      plugins: [dts({ tsconfig: 'tsconfig.base.json' })],
      output: [
        { dir: outDir, format: 'es', entryFileNames: '[name].d.mts', chunkFileNames: '[name]-[hash].d.mts' },
        { dir: outDir, format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: '[name]-[hash].d.cts' },
      ],
    });
  }
  if (Object.keys(cli).length > 0) {
    configs.push({
      input: cli,
      external,
      plugins: [esbuild({ target: 'es2022', tsconfig: 'tsconfig.base.json' })],
      output: { dir: outDir, format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-cli-[hash].mjs' },
    });
  }
}

export default configs;
