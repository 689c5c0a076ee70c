// Runs the suite in Node, Deno or Bun: `<runtime> test/runtimes/entry.mjs`. Prints failures, then
// `N passed, M failed`, then one `SLUICE_RESULT {json}` line that run.mjs reads.
import { createRegistry, summarize } from './harness.mjs';
import { loadAll } from './packages.mjs';
import { defineSuite } from './suite/index.mjs';

function runtime() {
  if (typeof globalThis.Deno !== 'undefined') return { runtime: 'deno', version: globalThis.Deno.version.deno };
  if (typeof globalThis.Bun !== 'undefined') return { runtime: 'bun', version: globalThis.Bun.version };
  return { runtime: 'node', version: globalThis.process.versions.node };
}

const env = runtime();
const modules = await loadAll(new URL('../../', import.meta.url));
const registry = createRegistry();
defineSuite(registry, modules, env);
const filter = globalThis.Deno ? globalThis.Deno.args[0] : globalThis.process.argv[2];
const names = registry.list().filter((name) => !filter || name.includes(filter));
const results = [];
for (const name of names) results.push(await registry.runOne(name));
console.log(summarize(results));
console.log(`SLUICE_RESULT ${JSON.stringify({ ...env, results })}`);
const failed = results.some((r) => !r.ok);
if (globalThis.Deno) globalThis.Deno.exit(failed ? 1 : 0);
else globalThis.process.exit(failed ? 1 : 0);
