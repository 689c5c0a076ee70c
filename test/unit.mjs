// Runs the uvu suites under test/ (TypeScript through tsx). Usage: node --import tsx test/unit.mjs [filter...]
// Suites that need a built package, another runtime or a server run from test/all.mjs instead.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'uvu/run';

// The secret audit watches every suite of the run and fails it if a key or token leaks (test/audit/README.md).
if (process.env.SLUICE_AUDIT !== 'off') await import('./audit/preload.ts');

const root = resolve(import.meta.dirname);
const separate = new Set(['runtimes', 'redis', 'bench', 'fixtures']);
const filters = process.argv.slice(2);

function collect(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!separate.has(name) && name !== 'node_modules') collect(path, out);
    } else if (name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

const files = collect(root).filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
await run(
  files.map((file) => ({ name: relative(root, file), file })),
  { bail: false },
);
