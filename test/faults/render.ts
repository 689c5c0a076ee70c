// Runs the fault matrix and writes its table into test/faults/README.md:
// `node --import tsx test/faults/render.ts` from the repository root.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Row } from './harness.js';
import { runMatrix } from './run.js';

const START = '<!-- matrix:start -->';
const END = '<!-- matrix:end -->';

const counts = (bag: Record<string, number>) =>
  Object.entries(bag)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${n} × ${name.replace(/^(\w+) (ERR_\w+)$/, '`$1` `$2`')}`)
    .join('<br>') || '—';

const seconds = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

function line(row: Row): string {
  const ok = row.problems.length === 0 ? 'yes' : `**no**: ${row.problems.join('; ')}`;
  return [
    row.fault,
    row.calls,
    counts(row.outcomes),
    counts(row.bodies),
    row.unsettled === 0 ? 'yes' : `**${row.unsettled} not**`,
    row.unhandled.length === 0 ? 'none' : row.unhandled.length,
    row.handlesAfterClose.length === 0 ? 'none' : row.handlesAfterClose.join(', '),
    row.heapDeltaMb,
    seconds(row.virtualMs),
    ok,
  ].join(' | ');
}

const run = await runMatrix();
if (run.killed || run.code !== 0) throw new Error(`the matrix process did not exit cleanly (${run.killed ?? run.code}): ${run.stderr}`);
const table = [
  `Run with Node ${run.node}: ${run.rows.length} scenarios, ${run.rows.reduce((n, r) => n + r.calls, 0)} calls, in ${seconds(run.realMs)} of real time; the process exited by itself ${run.exitMs} ms after writing its rows.`,
  '',
  '| fault | calls | outcome of the calls | body reads | settles once | unhandled | open after `close()` | heap Δ (MB) | virtual time | as expected |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...run.rows.map((row) => `| ${line(row)} |`),
].join('\n');
const file = resolve(import.meta.dirname, 'README.md');
const text = readFileSync(file, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < 0) throw new Error(`${file} has no ${START} ... ${END} block`);
writeFileSync(file, `${text.slice(0, from + START.length)}\n${table}\n${text.slice(to)}`);
console.log(`wrote ${run.rows.length} rows to ${file}`);
