// The fault matrix in a process of its own: `node --expose-gc --import tsx test/faults/child.ts <out.json> [id...]`.
// It writes the rows to <out.json> and must then exit by itself: nothing may stay open after close().
import { writeFileSync } from 'node:fs';
import { type Row, runScenario } from './harness.js';
import { scenarios } from './scenarios.js';

const [out, ...only] = process.argv.slice(2);
if (!out) throw new TypeError('usage: child.ts <out.json> [scenario id...]');
const rows: Row[] = [];
for (const scenario of scenarios) {
  if (only.length > 0 && !only.includes(scenario.id)) continue;
  rows.push(await runScenario(scenario));
}
writeFileSync(out, `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
process.stdout.write('rows written\n');
