// Compares two runs of learning-refusals.test.ts, run for run: each written with SLUICE_LEARN_DUMP=<file> by a build
// of its own, with the same SLUICE_FUZZ_SEED (so the same scenarios). Prints, per evidence, server kind and window
// scale: the runs, the 429s in all (before -> after), the geometric mean and the most of completion over the least
// time; then the runs notably worse (two 429s more, or half as slow again).
// Usage: node test/properties/compare-learning.mjs before.jsonl after.jsonl
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: node test/properties/compare-learning.mjs before.jsonl after.jsonl');
  process.exit(2);
}

const load = (file) =>
  new Map(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .map((run) => [JSON.stringify(run.scenario), run]),
  );
const scaleOf = (windowMs) =>
  windowMs < 1000 ? 'under 1 s' : windowMs < 60_000 ? '1 s-1 min' : windowMs < 3_600_000 ? '1 min-1 h' : 'over 1 h';

const before = load(beforeFile);
const after = load(afterFile);
const groups = new Map();
const worse = [];
for (const [id, b] of before) {
  const a = after.get(id);
  if (!a) continue;
  const { evidence, kind, windowMs } = b.scenario;
  const name = `${evidence} ${kind} ${scaleOf(windowMs)}`;
  const g = groups.get(name) ?? { runs: 0, refusedBefore: 0, refusedAfter: 0, logBefore: 0, logAfter: 0, mostBefore: 0, mostAfter: 0 };
  g.runs++;
  g.refusedBefore += b.refused;
  g.refusedAfter += a.refused;
  g.logBefore += Math.log(b.over);
  g.logAfter += Math.log(a.over);
  g.mostBefore = Math.max(g.mostBefore, b.over);
  g.mostAfter = Math.max(g.mostAfter, a.over);
  groups.set(name, g);
  if (a.refused > b.refused + 2 || a.over > b.over * 1.5)
    worse.push({ scenario: b.scenario, before: [b.refused, b.over], after: [a.refused, a.over] });
}

const mean = (sum, n) => Math.exp(sum / n).toFixed(3);
console.log('evidence, kind, window: runs | 429s before -> after | over the least time, geometric mean | most');
const total = { runs: 0, refusedBefore: 0, refusedAfter: 0, logBefore: 0, logAfter: 0 };
for (const [name, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${name}: ${g.runs} | ${g.refusedBefore} -> ${g.refusedAfter} | ${mean(g.logBefore, g.runs)} -> ${mean(g.logAfter, g.runs)} | ${g.mostBefore.toFixed(2)} -> ${g.mostAfter.toFixed(2)}`,
  );
  for (const key of Object.keys(total)) total[key] += g[key];
}
console.log(
  `all: ${total.runs} | ${total.refusedBefore} -> ${total.refusedAfter} | ${mean(total.logBefore, total.runs)} -> ${mean(total.logAfter, total.runs)}`,
);
console.log(`notably worse: ${worse.length}`);
for (const run of worse) console.log(JSON.stringify(run));
