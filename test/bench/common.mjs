// Shared by the benchmark sections: the built packages, statistics, formatting and the result protocol.
// A section prints human-readable progress on stderr and, last, one line `@@result <json>` on stdout that
// run.mjs turns into the report: { title, markdown, goals: [{ goal, figure, met }], notes? }.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

// BENCH_PACKAGES=<dir> measures the packages built in another checkout (a prototype of a change) instead of this one.
const packagesDir = process.env.BENCH_PACKAGES
  ? pathToFileURL(`${process.env.BENCH_PACKAGES.replace(/\/$/, '')}/`)
  : new URL('../../packages/', import.meta.url);
const dist = (name, entry = 'index') => new URL(`${name}/dist/${entry}.mjs`, packagesDir).href;

/** The built packages (run `pnpm build` first): the benchmark measures what users install. */
export async function loadSluice() {
  try {
    const [core, testing, authToken, rateLimit, retry429, errorMap, mock] = await Promise.all([
      import(dist('core')),
      import(dist('core', 'testing')),
      import(dist('auth-token')),
      import(dist('rate-limit')),
      import(dist('retry-429')),
      import(dist('error-map')),
      import(dist('mock-server')),
    ]);
    return { core, testing, authToken, rateLimit, retry429, errorMap, mock };
  } catch (error) {
    throw new Error(`the built packages are missing (run \`npx -y pnpm@12.4.2 build\` first): ${error.message}`);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Median, min, max and interquartile range of samples. */
export function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
  };
  return { median: median(s), min: s[0], max: s.at(-1), q1: q(0.25), q3: q(0.75), n: s.length };
}

export const gc = () => globalThis.gc?.();

/** Runs `fn` (async, one request) `n` times in sequence; returns ns per call. */
export async function timeSequential(fn, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((performance.now() - start) * 1e6) / n;
}

export const fmt = {
  int: (n) => Math.round(n).toLocaleString('en-US'),
  ms: (n) => `${n.toFixed(n < 10 ? 2 : 0)} ms`,
  s: (ms) => `${(ms / 1000).toFixed(ms < 100_000 ? 2 : 1)} s`,
  x: (r) => `${r.toFixed(2)}x`,
  pct: (r) => `${r >= 0 ? '+' : ''}${(r * 100).toFixed(1)}%`,
  kb: (bytes) => `${(bytes / 1024).toFixed(1)} KB`,
  mb: (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`,
};

/** A markdown table from a header row and rows of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const log = (...args) => console.error(...args);

/** Ends a section: prints its markdown for a human on stderr and the result line for run.mjs on stdout. */
export function report(result) {
  log(`\n## ${result.title}\n\n${result.markdown}\n`);
  process.stdout.write(`@@result ${JSON.stringify(result)}\n`);
}

/** `--quick` (or BENCH_QUICK=1) shrinks every section for a smoke run; figures are then indicative only. */
export const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

/** The value after `--name` on the command line, if any. */
export function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
