// Where the time goes in the sluice pipeline: runs the overhead benchmark for sluice alone under `node --cpu-prof`,
// then reads the .cpuprofile: self time per function, self time per owner (package, undici, V8), and each sample
// charged to the nearest sluice function on its stack (so `new Request` called by auth-token counts for auth-token).
// Usage: node test/bench/profile.mjs [--quick] [--keep <dir>]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { arg, fmt, quick, report, table } from './common.mjs';

const here = import.meta.dirname;
const n = quick ? 2_000 : 5_000;

/** The owner of a script URL: a sluice package, a dependency, Node itself, or the benchmark. */
export function owner(url) {
  if (!url) return 'V8 / native';
  const pkg = url.match(/packages\/([\w-]+)\/dist\//);
  if (pkg) return `@sluice/${pkg[1]}`;
  const dep = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[\w-]+\/)?[\w.-]+)\//);
  if (dep) return dep[1];
  if (url.startsWith('node:internal/deps/undici')) return 'undici (Request, Response, Headers)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/test/bench/')) return 'benchmark harness';
  return url;
}

const label = (frame) => {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} (${basename(frame.url)}:${frame.lineNumber + 1})`;
};

/** Self time per function, per owner, and per nearest sluice frame, from a parsed .cpuprofile. */
export function analyse(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  const owners = new Map();
  const nearest = new Map();
  let total = 0;
  const add = (map, key, dt) => map.set(key, (map.get(key) ?? 0) + dt);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') return;
    total += dt;
    add(self, `${label(node.callFrame)}\u0000${owner(node.callFrame.url)}`, dt);
    add(owners, name === '(garbage collector)' ? 'garbage collector' : owner(node.callFrame.url), dt);
    let at = id;
    let charged = name === '(garbage collector)' ? 'garbage collector (anywhere)' : 'outside sluice (harness, transport, body read)';
    while (at !== undefined) {
      const frame = byId.get(at).callFrame;
      if (/packages\/[\w-]+\/dist\//.test(frame.url)) {
        charged = `${owner(frame.url)}: ${label(frame)}`;
        break;
      }
      at = parent.get(at);
    }
    add(nearest, charged, dt);
  });
  const top = (map, k) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, us]) => ({ key, us, share: us / total }));
  return { totalUs: total, self: top(self, 15), owners: top(owners, 12), nearest: top(nearest, 15) };
}

if (process.argv[1] === import.meta.filename) {
  const dir = arg('keep') ?? mkdtempSync(join(tmpdir(), 'sluice-prof-'));
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--cpu-prof', '--cpu-prof-dir', dir, join(here, 'overhead.mjs'), '--only', 'sluice', '--n', String(n)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (run.status !== 0) throw new Error(`the profiled run failed (exit ${run.status})`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const result = analyse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  if (!arg('keep')) rmSync(dir, { recursive: true, force: true });
  const pct = (share) => `${(share * 100).toFixed(1)}%`;
  report({
    title: 'CPU profile of the sluice overhead benchmark',
    markdown: [
      `\`node --cpu-prof test/bench/overhead.mjs --only sluice\` (${fmt.int(n)} requests per round, warm-up included); ${fmt.int(result.totalUs / 1000)} ms of samples, idle excluded.`,
      '',
      '**Self time by owner**',
      '',
      table(
        ['owner', 'self time'],
        result.owners.map((r) => [r.key, pct(r.share)]),
      ),
      '',
      '**Each sample charged to the nearest sluice function on its stack** (what that function costs, with the platform work it calls)',
      '',
      table(
        ['sluice function', 'share'],
        result.nearest.map((r) => [r.key, pct(r.share)]),
      ),
      '',
      '**Top self-time functions**',
      '',
      table(
        ['function', 'owner', 'self time'],
        result.self.map((r) => [...r.key.split('\u0000'), pct(r.share)]),
      ),
    ].join('\n'),
    goals: [],
    data: result,
  });
}
