// Runs the fidelity suite in Node, Deno or Bun against the recording server run.mjs started:
// `<runtime> test/runtimes/fidelity/entry.mjs <server URL> <closed port> [filter]`. Prints failures, then
// `N passed, M failed`, then one `SLUICE_RESULT {json}` line, as ../entry.mjs does.
import { assert, createRegistry, summarize } from '../harness.mjs';
import { loadAll } from '../packages.mjs';
import { fidelityTests } from './suite.mjs';

const [server, closedPort, filter] = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const modules = await loadAll(new URL('../../../', import.meta.url));
const registry = createRegistry();
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
fidelityTests({ test: registry.test, assert, modules, where: { server, closedPort }, env: { runtime } });
const names = registry.list().filter((name) => !filter || name.includes(filter));
const results = [];
for (const name of names) results.push(await registry.runOne(name));
console.log(summarize(results));
console.log(`SLUICE_RESULT ${JSON.stringify({ results })}`);
const failed = results.some((r) => !r.ok);
if (globalThis.Deno) globalThis.Deno.exit(failed ? 1 : 0);
else globalThis.process.exit(failed ? 1 : 0);
