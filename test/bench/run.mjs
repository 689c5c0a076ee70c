// `pnpm bench`: runs every benchmark section in its own process against the built packages, prints a markdown table
// per measure and a summary of the goals, and writes test/bench/RESULTS.md (date, machine, command, tables).
// Usage: node --expose-gc test/bench/run.mjs [section ...] [--quick] [--no-write] [--charts]
//   sections: overhead profile loopback limits gateway scale learn herd memory size fleet (default: all; fleet only if
//   test/bench/fleet.mjs exists). --quick shrinks every section for a smoke run and never writes RESULTS.md.
//   The charts in test/bench/charts/ are drawn when RESULTS.md is written, or with --charts from the sections run.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { drawCharts } from './charts.mjs';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const SECTIONS = [
  { name: 'overhead', file: 'overhead.mjs' },
  { name: 'profile', file: 'profile.mjs' },
  { name: 'loopback', file: 'loopback.mjs' },
  { name: 'limits', file: 'limits.mjs' },
  { name: 'gateway', file: 'gateway.mjs' },
  { name: 'scale', file: 'scale.mjs' },
  { name: 'learn', file: 'learn.mjs' },
  { name: 'herd', file: 'herd.mjs' },
  { name: 'memory', file: 'memory.mjs' },
  { name: 'size', file: 'size.mjs' },
  // Written by another engineer (Redis fleet figures); included when present.
  { name: 'fleet', file: 'fleet.mjs', optional: true },
];
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
if (unknown.length) throw new Error(`unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`);
const selected = SECTIONS.filter((s) => (wanted.length ? wanted.includes(s.name) : true)).filter(
  (s) => !s.optional || existsSync(join(here, s.file)) || wanted.includes(s.name),
);
const write = !quick && !args.includes('--no-write') && wanted.length === 0;
// The charts (test/bench/charts/*.svg) are drawn with RESULTS.md, or alone from a run of some sections with --charts.
const drawing = write || (!quick && args.includes('--charts'));

function runSection(section) {
  const flags = ['--expose-gc', '--disable-warning=MaxListenersExceededWarning'];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...flags, join(here, section.file), ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('close', (code) => {
      const seconds = (Date.now() - started) / 1000;
      const line = out.split('\n').find((l) => l.startsWith('@@result '));
      if (line) return resolve({ ...JSON.parse(line.slice('@@result '.length)), seconds, code });
      // A section that prints plain markdown (fleet.mjs may): kept as it is.
      const text = out.trim();
      const ok = code === 0 && text.length > 0;
      resolve({
        title: section.name === 'fleet' ? 'Fleet (test/bench/fleet.mjs)' : section.name,
        markdown: ok ? text : `**Failed** (exit ${code}); see the console output.${text ? `\n\n${text}` : ''}`,
        goals: ok ? [] : [{ goal: `${section.name} section`, figure: `failed (exit ${code})`, met: false }],
        seconds,
        code,
      });
    });
  });
}

function machine() {
  const model = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1];
    } catch {
      return undefined;
    }
  })();
  const version = (name) => {
    try {
      return JSON.parse(readFileSync(join(here, '../../node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  return {
    cpus: availableParallelism(),
    model: model ?? cpus()[0]?.model ?? 'unknown',
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GB`,
    node: process.version,
    os: `${process.platform} ${release()}`,
    peers: ['ky', 'ofetch', 'axios', 'axios-retry', '@azure/core-rest-pipeline'].map((n) => `${n} ${version(n)}`).join(', '),
  };
}

const verdict = (met) => (met === true ? 'met' : met === false ? '**not met**' : 'not run');

const started = new Date();
const loadStart = loadavg();
const m = machine();
console.error(`sluice bench: ${selected.map((s) => s.name).join(', ')}${quick ? ' (quick)' : ''}`);
const results = [];
for (const section of selected) {
  console.error(`\n── ${section.name}`);
  const result = await runSection(section);
  console.error(`── ${section.name}: ${result.seconds.toFixed(1)} s`);
  results.push({ ...result, name: section.name });
}
const seconds = (Date.now() - started.getTime()) / 1000;
const loadEnd = loadavg();

const goals = results.flatMap((r) => (r.goals ?? []).map((g) => (r.name === 'fleet' ? { ...g, goal: `Fleet: ${g.goal}` } : g)));
const summary = [
  '| goal | figure | verdict |',
  '| --- | --- | --- |',
  ...goals.map((g) => `| ${g.goal} | ${String(g.figure).replace(/\|/g, '\\|')} | ${verdict(g.met)} |`),
].join('\n');
const header = [
  '# sluice benchmark results',
  '',
  `- Date: ${started.toISOString()}`,
  `- Machine: ${m.cpus} CPUs (${m.model}), ${m.memory} RAM, ${m.os}`,
  `- Node: ${m.node}; peers: ${m.peers}`,
  `- Command: \`pnpm bench\` (\`pnpm --silent build && node --expose-gc test/bench/run.mjs\`)${quick ? ' with --quick' : ''}; ${seconds.toFixed(0)} s in all (${results.map((r) => `${r.name} ${r.seconds.toFixed(0)} s`).join(', ')})`,
  `- Load average (1, 5, 15 min): ${loadStart.map((l) => l.toFixed(2)).join(', ')} at the start, ${loadEnd.map((l) => l.toFixed(2)).join(', ')} at the end. Above ${m.cpus}, other processes shared the CPUs and the timings are noisy.`,
  '',
  'How each figure is measured, what the contenders are configured to do, and the analysis of the CPU profile: [README.md](README.md).',
].join('\n');
const charts = drawing ? await drawCharts(results, { dir: join(here, 'charts') }) : {};
const body = results.map((r) => `## ${r.title}\n\n${r.markdown}${charts[r.name] ? `\n\n${charts[r.name].join('\n\n')}` : ''}`).join('\n\n');
const markdown = `${header}\n\n## Goals\n\n${summary}\n\n${body}\n`;

console.log(`\n${markdown}`);
if (write) {
  writeFileSync(join(here, 'RESULTS.md'), markdown);
  console.error(`\nwrote test/bench/RESULTS.md (${seconds.toFixed(0)} s)`);
} else {
  console.error(
    `\n${seconds.toFixed(0)} s; RESULTS.md not written (${quick ? '--quick' : wanted.length ? 'some sections only' : '--no-write'})`,
  );
}
