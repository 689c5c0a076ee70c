import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// These suites read the build: test/all.mjs builds before it runs them.
const root = resolve(import.meta.dirname, '../..');
const consumer = join(root, 'examples/core-basics');

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' }).trim();
}

const program = `
  const sluice = MODULE;
  const testing = TESTING;
  const transport = testing.createFakeTransport().fallback(() => new Response('ok'));
  const api = sluice.compose([{ name: 'n', handle: (r, next) => next(r) }], { fetch: transport.fetch });
  api('https://api.example/').then(async (res) => { console.log(typeof sluice.compose, await res.text(), transport.calls.length); await api.close(); });
`;

test('a consumer project imports the built core as ESM', () => {
  const source = program.replace('MODULE', "await import('@sluice/core')").replace('TESTING', "await import('@sluice/core/testing')");
  assert.is(run(['--input-type=module', '-e', source]), 'function ok 1');
});

test('a consumer project requires the built core as CommonJS', () => {
  const source = program.replace('MODULE', "require('@sluice/core')").replace('TESTING', "require('@sluice/core/testing')");
  assert.is(run(['--input-type=commonjs', '-e', source]), 'function ok 1');
});

test('ESM and CommonJS copies agree on what a sluice error is', () => {
  const source = `
    const cjs = require('@sluice/core');
    import('@sluice/core').then((esm) => console.log(esm.isSluiceError(new cjs.ClosedError()), cjs.isSluiceError(new esm.ClosedError()), esm.ClosedError === cjs.ClosedError));
  `;
  assert.is(run(['--input-type=commonjs', '-e', source]), 'true true false');
});

// Library packages run at the edge; their built code must not reach for Node.
const edgePackages = ['core', 'auth-token', 'rate-limit', 'retry-429', 'error-map', 'cyberhaven', 'monitor', 'report'];
const nodeisms = [/\bfrom\s*['"]node:/, /require\(['"]node:/, /\bprocess\./, /\bBuffer\./, /\bBuffer\(/, /\.unref\(/];

test('built library packages use web-standard APIs only', () => {
  let scanned = 0;
  for (const name of edgePackages) {
    const dist = join(root, 'packages', name, 'dist');
    let files: string[];
    try {
      files = readdirSync(dist).filter((f) => /\.(mjs|cjs)$/.test(f));
    } catch {
      continue; // not built yet: the package does not exist yet
    }
    for (const file of files) {
      const code = readFileSync(join(dist, file), 'utf8');
      for (const pattern of nodeisms) assert.not.match(code, pattern, `${name}/dist/${file} matches ${pattern}`);
      scanned++;
    }
  }
  assert.ok(scanned >= 4, 'at least core was built and scanned');
});

test.run();
