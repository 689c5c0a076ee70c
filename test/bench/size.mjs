// 6. Bundle size: each setup in test/bench/size/ bundled by esbuild with its dependencies (browser platform, ESM),
// minified, then gzipped at level 9. sluice is bundled from its built packages.
// Usage: node test/bench/size.mjs
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { fmt, report, table } from './common.mjs';

const dir = join(import.meta.dirname, 'size');
const setups = [
  { file: 'sluice.mjs', label: 'sluice: compose + error-map + retry-429 + auth-token + rate-limit (with mitt, cockatiel)' },
  { file: 'ky-refresher.mjs', label: 'ky + hand-written token refresher' },
  { file: 'ofetch-refresher.mjs', label: 'ofetch + hand-written token refresher' },
  { file: 'axios-refresher.mjs', label: 'axios + axios-retry + hand-written token refresher' },
  { file: 'azure.mjs', label: '@azure/core-rest-pipeline: bearer + throttling policies, default client' },
  { file: 'ky.mjs', label: 'ky alone (retry configured), for reference' },
  { file: 'refresher.mjs', label: 'the hand-written refresher alone, for reference' },
];

async function measure(file) {
  const result = await build({
    entryPoints: [join(dir, file)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.keys(result.metafile.inputs);
  const packages = new Set(
    inputs
      .map(
        (p) =>
          p.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[\w-]+\/)?[\w.-]+)/)?.[1] ?? p.match(/packages\/([\w-]+)\//)?.[1],
      )
      .filter(Boolean),
  );
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length, packages: [...packages].sort() };
}

const results = [];
for (const setup of setups) results.push({ ...setup, ...(await measure(setup.file)) });
const sluice = results[0];
report({
  title: '6. Bundle size',
  markdown: [
    'Each setup (`test/bench/size/*.mjs`) bundled with its dependencies by esbuild (ESM, browser platform, minified), gzipped at level 9. For comparison only: the goal of being smaller than ky with a hand-written token refresher is retired, and `size-budget.json` guards each entry against growth.',
    '',
    table(
      ['setup', 'minified', 'min + gzip', 'vs sluice', 'bundled packages'],
      results.map((r) => [r.label, fmt.kb(r.min), fmt.kb(r.gz), fmt.x(r.gz / sluice.gz), r.packages.join(', ')]),
    ),
  ].join('\n'),
  // No goal: "smaller than ky + a token refresher" was retired (a library that holds API keys runs on servers and at the
  // edge, where these bytes do not matter); size-budget.json guards each entry against growth instead.
  goals: [],
  data: results,
});
