// Runs the conformance suite against the built packages in every runtime, one after another:
// Node (the machine's), Node 24, Deno, Bun and workerd, then the examples in theirs (examples.mjs), then the drop-in
// fidelity suite in Node, Node 24, Deno and Bun against a recording server (fidelity/).
// Usage: node test/runtimes/run.mjs [runtime...] [--filter text] (runtimes: node, node24, deno, bun, workerd, examples,
// fidelity).
// Build first: npx -y pnpm@12.4.2 build.
// A runtime that cannot start, or dies before reporting, counts as one failed test; nothing is skipped.
// Closing line: `runtimes: N passed, M failed`.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { binaryOf, root, runProcess, tmp, versionOf } from './binaries.mjs';
import { runExamples } from './examples.mjs';
import { runFidelity } from './fidelity/run.mjs';
import { summarize } from './harness.mjs';
import { startWorkerd } from './launch-workerd.mjs';
import { entries } from './packages.mjs';

const here = import.meta.dirname;
const RUNTIME_TIMEOUT_MS = 180_000;

const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args.splice(filterAt, 2)[1] : undefined;
const only = new Set(args);

const entryArgs = (entry) => [entry, ...(filter ? [filter] : [])];

const runtimes = [
  { name: 'node', args: (entry) => entryArgs(entry) },
  { name: 'node24', args: (entry) => entryArgs(entry) },
  {
    name: 'deno',
    // Read access to the repository only: no net, env, run or write, so a library that reaches for them fails here.
    args: (entry) => ['run', '--no-lock', '--no-prompt', `--allow-read=${root}`, ...entryArgs(entry)],
  },
  { name: 'bun', args: (entry) => entryArgs(entry) },
  { name: 'workerd', workerd: true },
  // The examples (examples/native-fetch, ofetch, ky, axios, openapi-fetch on Node 24; deno, bun, cloudflare-worker)
  // run in their runtimes against the simulator: see examples.mjs.
  { name: 'examples', examples: true },
  // Every request shape through fetch and through the pipeline, compared: see fidelity/suite.mjs.
  { name: 'fidelity', fidelity: true },
];

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
    if (runtime.examples) {
      console.log(`\n── ${label}`);
      results = await runExamples({ filter });
    } else if (runtime.fidelity) {
      console.log(`\n── ${label}`);
      results = await runFidelity({ filter });
    } else {
      // SLUICE_<NAME>_BIN (e.g. SLUICE_DENO_BIN) runs another binary of that runtime.
      const binary = binaryOf(runtime.name);
      label = `${runtime.name} ${await versionOf(binary)}`;
      console.log(`\n── ${label}`);
      results = runtime.workerd ? await startWorkerd({ binary, root, tmp, filter }) : await runScript(runtime, binary);
    }
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
