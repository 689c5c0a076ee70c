import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSvg } from '@sluice/report';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: the benchmark is plain JavaScript, without declarations
import { chartsOf, completionsChart, drawCharts, gridChart, spreadChart } from '../bench/charts.mjs';

// The benchmark's charts, drawn from synthetic section results shaped as the sections report them.
const summaryOf = (median: number) => ({ median, min: median * 0.9, max: median * 1.2, q1: median * 0.95, q3: median * 1.05, n: 7 });
const groupOf = (svg: string, name: string) => svg.match(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*?(/>|>(.*?)</g>)`));
const itemsOf = (svg: string, name: string) => groupOf(svg, name)?.[2]?.match(/<(path|line|text)\b[^>]*>/g) ?? [];

test('the grid draws one cell per row and column, its ratio as text, green where no 429 came and red where some did', async () => {
  const cells = [];
  for (const server of ['sliding-log', 'fixed-window'])
    for (const window of ['1 s', '1 min', '1 h'])
      cells.push({
        row: server,
        column: `60 per ${window}`,
        ratio: window === '1 s' ? 1.27 : 1.01,
        rejected: server === 'fixed-window' && window === '1 h' ? 12 : 0,
      });
  const svg = await renderSvg(
    gridChart({ title: 'Limit efficiency matrix', caption: 'What to see', cells, rowTitle: 'server', columnTitle: 'rule' }),
  );
  const rects = itemsOf(svg, 'cells');
  assert.is(rects.length, 6);
  assert.is(rects.filter((r) => r.includes('fill="#bbf7d0"')).length, 5, 'five cells without 429s are green');
  const texts = groupOf(svg, 'values')![2]!;
  assert.is((texts.match(/1\.01×/g) ?? []).length, 4);
  assert.is((texts.match(/1\.27×/g) ?? []).length, 2);
  assert.match(texts, '1.01× · 12 × 429');
  for (const label of ['Limit efficiency matrix', 'What to see', 'server', 'rule', '60 per 1 h', '429s received']) assert.match(svg, label);
});

test('completions over time: one line per contender, alike ones merged, 429s marked and the minimum drawn', async () => {
  const completions = Array.from({ length: 120 }, (_, i) => 1000 * (Math.floor(i / 60) * 60) + i);
  const spec = completionsChart({
    title: 'Burst',
    caption: 'What to see',
    minimumMs: 60_000,
    contenders: [
      { name: 'sluice', completions, rejections: [] },
      { name: 'ky', completions: completions.map((t) => t + 30_000), rejections: [10, 20, 90_000] },
      { name: 'ofetch', completions: completions.map((t) => t + 30_000), rejections: [10, 20, 90_000] },
    ],
  });
  const svg = await renderSvg(spec);
  assert.is((svg.match(/role-mark completions_marks"/g) ?? []).length, 2, 'one line (a group of its own) for sluice, one for ky = ofetch');
  assert.match(svg, 'ky = ofetch: 3 × 429');
  assert.match(svg, 'sluice: 0 × 429');
  assert.is(itemsOf(svg, 'rejections').length, 2, 'the two 429s at the start share one mark, sized by two');
  assert.match(svg, 'theoretical minimum 60 s');
  assert.match(svg, 'time since the burst (s)');
});

test('bars with their spread: a bar, a range and an interquartile rule per contender', async () => {
  const rows = ['raw fetch', 'sluice', 'ky'].map((who, i) => ({ who, ...summaryOf(1000 * (i + 1)) }));
  const svg = await renderSvg(spreadChart({ title: 'Overhead', caption: 'Shorter is better', panels: [{ unit: 'ns per request', rows }] }));
  assert.is(itemsOf(svg, 'bars0').length, 3);
  assert.is(itemsOf(svg, 'range0').length, 3);
  assert.is(itemsOf(svg, 'iqr0').length, 3);
  assert.match(svg, 'ns per request');
});

test('the sections report what their charts need, and a grid in any section is drawn: the hook for the matrix', async () => {
  const results = [
    {
      name: 'limits',
      data: ['sliding-log', 'token-bucket'].flatMap((algorithm) =>
        ['sluice', 'ky'].map((name) => ({
          name,
          algorithm,
          completions: [1000, 2000],
          rejections: name === 'ky' ? [500] : [],
          failed: 0,
          minimumMs: 2000,
        })),
      ),
    },
    {
      name: 'gateway',
      data: [
        {
          who: 'sluice',
          scenario: 'strict',
          completions: [100, 200],
          rejections: [],
          failed: 0,
          unfinished: 0,
          minimumMs: 200,
          deadlineMs: 15_000,
        },
      ],
    },
    { name: 'overhead', data: { 'raw fetch': { ns: summaryOf(900) }, sluice: { ns: summaryOf(1200) } } },
    {
      name: 'loopback',
      data: { rounds: 4, modes: { sequential: { 'raw fetch': { rps: summaryOf(9000) }, sluice: { rps: summaryOf(8000) } } } },
    },
    { name: 'scale', data: { grid: { title: 'Matrix', caption: 'c', cells: [{ row: 'a', column: 'b', ratio: 1, rejected: 0 }] } } },
    { name: 'size', data: undefined },
  ];
  assert.equal(
    results.flatMap((r) => chartsOf(r).map((c: { file: string }) => c.file)),
    ['limits-sliding-log.svg', 'limits-token-bucket.svg', 'gateway-strict.svg', 'overhead.svg', 'loopback.svg', 'scale-grid.svg'],
  );
  const dir = mkdtempSync(join(tmpdir(), 'sluice-charts-'));
  const shown = await drawCharts(results, { dir, log: () => {} });
  assert.equal(shown.scale, ['![Matrix](charts/scale-grid.svg)']);
  assert.match(readFileSync(join(dir, 'overhead.svg'), 'utf8'), '<svg');
});

test.run();
