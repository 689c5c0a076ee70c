// The benchmark's comparisons as SVG charts, drawn with Vega-Lite through @sluice/report from the `data` each section
// reports, once every section has run (run.mjs calls drawCharts). Files go to test/bench/charts/ and RESULTS.md shows them.
// Each chart carries its own light background, so it reads the same on GitHub's light and dark pages.
// Hook for a new section: report `data.grid` = { title, caption, rowTitle, columnTitle, cells: [{ row, column, ratio,
// rejected }] } (or `data.grids`, an array of them) and run.mjs draws it as charts/<section>-grid.svg (see README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFor, renderSvg, themes } from '@sluice/report';

const theme = themes.light;
const CONTENDER_COLORS = {
  sluice: theme.series[0],
  ky: theme.series[1],
  ofetch: theme.series[2],
  axios: theme.series[3],
  azure: theme.series[4],
  'raw fetch': theme.series[5],
};
const colorOf = (name) => CONTENDER_COLORS[name] ?? theme.muted;
const s = (ms) => `${+(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
// No ARIA labels on each mark: with thousands of 429s they made a chart 4 MB; the file's alt text says what it shows.
const chart = (title, caption, body) => ({
  title: { text: title, subtitle: caption },
  config: { ...configFor(theme), aria: false },
  ...body,
});

/**
 * Completions over time of one burst per contender against one server: a step line per contender (requests settled by
 * each moment, answered or failed), its 429s as ✕ on its line (one mark per 1/150 of the time axis, sized by how many fell there), and the
 * theoretical minimum as a dashed rule. `contenders`: [{ name, completions: ms[], rejections: ms[], failed?, unfinished? }], times
 * in ms since the burst.
 */
export function completionsChart({ title, caption, contenders: all, minimumMs, deadlineMs }) {
  // Contenders that ran exactly alike (same completions and 429s) would hide one another: one line, all their names.
  const contenders = [];
  for (const c of all) {
    const twin = contenders.find((o) => JSON.stringify([o.completions, o.rejections]) === JSON.stringify([c.completions, c.rejections]));
    if (twin) twin.names.push(c.name);
    else contenders.push({ ...c, names: [c.name] });
  }
  const label = (c) =>
    `${c.names.join(' = ')}: ${c.rejections.length} × 429${c.failed ? `, ${c.failed} failed` : ''}${c.unfinished ? `, ${c.unfinished} unfinished` : ''}`;
  const span = Math.max(minimumMs, deadlineMs ?? 0, ...contenders.flatMap((c) => [...c.completions, ...c.rejections]));
  const binMs = span / 150;
  const lines = [];
  const hits = [];
  for (const c of contenders) {
    const done = [...c.completions].sort((a, b) => a - b);
    lines.push({ who: label(c), t: 0, done: 0 }, ...done.map((t, i) => ({ who: label(c), t: t / 1000, done: i + 1 })));
    if (c.unfinished && deadlineMs) lines.push({ who: label(c), t: deadlineMs / 1000, done: done.length });
    const bins = new Map();
    for (const r of c.rejections) {
      const bin = Math.floor(r / binMs);
      bins.set(bin, (bins.get(bin) ?? 0) + 1);
    }
    for (const [bin, n] of bins) {
      const t = (bin + 0.5) * binMs;
      hits.push({ who: label(c), t: t / 1000, done: done.filter((d) => d <= t).length, n });
    }
  }
  const color = {
    field: 'who',
    type: 'nominal',
    scale: { domain: contenders.map(label), range: contenders.map((c) => colorOf(c.name)) },
    legend: { title: null, orient: 'right', labelLimit: 400 },
  };
  const x = { field: 't', type: 'quantitative', axis: { title: 'time since the burst (s)' } };
  return chart(title, caption, {
    width: 640,
    height: 300,
    layer: [
      {
        name: 'completions',
        data: { values: lines },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: { x, y: { field: 'done', type: 'quantitative', axis: { title: 'requests settled (answered or failed)' } }, color },
      },
      {
        name: 'rejections',
        data: { values: hits },
        mark: { type: 'point', shape: 'cross', angle: 45, filled: true, opacity: 0.85 },
        encoding: {
          x,
          y: { field: 'done', type: 'quantitative' },
          color,
          size: { field: 'n', type: 'quantitative', scale: { type: 'sqrt', range: [25, 400] }, legend: { title: '429s (✕) at a time' } },
        },
      },
      {
        name: 'minimum',
        data: { values: [{ t: minimumMs / 1000, text: `theoretical minimum ${s(minimumMs)}` }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [6, 4], color: theme.limit }, encoding: { x } },
          {
            mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, y: 4, color: theme.text, fontSize: 11 },
            encoding: { x, text: { field: 'text' } },
          },
        ],
      },
    ],
  });
}

/**
 * Bars with their spread: one row per contender, the bar at the median, a thin rule from min to max and a thick one over
 * the interquartile range. `panels`: [{ title, unit, rows: [{ who, median, min, max, q1, q3 }] }], drawn one above the other.
 */
export function spreadChart({ title, caption, panels, format = ',.0f' }) {
  return chart(title, caption, {
    vconcat: panels.map((p, i) => {
      const y = { field: 'who', type: 'nominal', sort: p.rows.map((r) => r.who), axis: { title: null } };
      const x = (field) => ({ field, type: 'quantitative', axis: { title: p.unit, format } });
      const color = {
        field: 'who',
        type: 'nominal',
        scale: { domain: p.rows.map((r) => r.who), range: p.rows.map((r) => colorOf(r.who)) },
        legend: null,
      };
      return {
        title: p.title,
        width: 560,
        height: 26 * p.rows.length,
        data: { values: p.rows },
        layer: [
          { name: `bars${i}`, mark: { type: 'bar', opacity: 0.45, height: { band: 0.7 } }, encoding: { x: x('median'), y, color } },
          { name: `range${i}`, mark: { type: 'rule', color: theme.text }, encoding: { x: x('min'), x2: { field: 'max' }, y } },
          { name: `iqr${i}`, mark: { type: 'rule', color: theme.text, strokeWidth: 4 }, encoding: { x: x('q1'), x2: { field: 'q3' }, y } },
          {
            name: `labels${i}`,
            mark: { type: 'text', align: 'left', dx: 6, fontSize: 11, color: theme.text },
            encoding: { x: x('max'), y, text: { field: 'median', type: 'quantitative', format } },
          },
        ],
      };
    }),
    spacing: 24,
  });
}

/**
 * A grid: one cell per (row, column), its text the completion over the theoretical minimum (`ratio`, 1.00× is the
 * minimum), its colour the 429s received (green: none, then deeper reds for more).
 * `cells`: [{ row, column, ratio, rejected }], drawn in the order rows and columns first appear.
 */
export function gridChart({ title, caption, cells, rowTitle = null, columnTitle = null }) {
  const rows = [...new Set(cells.map((c) => c.row))];
  const columns = [...new Set(cells.map((c) => c.column))];
  const values = cells.map((c) => ({ ...c, label: `${c.ratio.toFixed(2)}×${c.rejected ? ` · ${c.rejected} × 429` : ''}` }));
  const most = Math.max(1, ...cells.map((c) => c.rejected));
  const x = { field: 'column', type: 'ordinal', sort: columns, axis: { title: columnTitle, orient: 'top', labelAngle: 0 } };
  const y = { field: 'row', type: 'ordinal', sort: rows, axis: { title: rowTitle } };
  return chart(title, caption, {
    width: Math.max(200, 150 * columns.length),
    height: 34 * rows.length,
    data: { values },
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', stroke: theme.background, strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: {
            condition: { test: 'datum.rejected === 0', value: '#bbf7d0' },
            field: 'rejected',
            type: 'quantitative',
            scale: { type: 'log', domain: [1, Math.max(2, most)], range: ['#fecaca', '#b91c1c'] },
            legend: { title: '429s received', format: 'd' },
          },
        },
      },
      {
        name: 'values',
        mark: { type: 'text', fontSize: 12 },
        encoding: {
          x,
          y,
          text: { field: 'label' },
          color: { condition: { test: `datum.rejected > ${Math.sqrt(most)}`, value: '#ffffff' }, value: '#1f2328' },
        },
      },
    ],
  });
}

/** Per section, the charts its `data` allows: [{ file, title, spec }]. */
export function chartsOf(result) {
  const data = result.data;
  if (!data) return [];
  const charts = [];
  if (result.name === 'limits' && Array.isArray(data)) {
    for (const algorithm of [...new Set(data.map((r) => r.algorithm))]) {
      const runs = data.filter((r) => r.algorithm === algorithm && r.completions);
      if (runs.length === 0) continue;
      charts.push({
        file: `limits-${algorithm}.svg`,
        title: `Completions over time: ${runs[0].completions.length} requests at once against the simulator (${algorithm})`,
        spec: completionsChart({
          title: `Limit efficiency against the simulator: ${algorithm}`,
          caption: `${runs[0].completions.length} requests at once, 60 a minute allowed: sluice's line reaches the top at the dashed minimum with no ✕ (429).`,
          contenders: runs.map((r) => ({ name: r.name, completions: r.completions, rejections: r.rejections, failed: r.failed })),
          minimumMs: runs[0].minimumMs,
        }),
      });
    }
  }
  if (result.name === 'gateway' && Array.isArray(data)) {
    for (const scenario of [...new Set(data.map((r) => r.scenario))]) {
      const runs = data.filter((r) => r.scenario === scenario && r.completions);
      if (runs.length === 0) continue;
      const rule = scenario === 'strict' ? 'limit_req 10r/s, no burst' : 'limit_req 10r/s burst=10 nodelay';
      charts.push({
        file: `gateway-${scenario}.svg`,
        title: `Completions over time against nginx (${rule})`,
        spec: completionsChart({
          title: `Limit efficiency against nginx: ${rule}, limit_conn 5`,
          caption: `${runs[0].completions.length + runs[0].unfinished} GETs at once per client (real time): sluice's line meets the dashed minimum with no ✕ (429).`,
          contenders: runs.map((r) => ({
            name: r.who,
            completions: r.completions,
            rejections: r.rejections,
            failed: r.failed,
            unfinished: r.unfinished,
          })),
          minimumMs: runs[0].minimumMs,
          deadlineMs: runs[0].deadlineMs,
        }),
      });
    }
  }
  if (result.name === 'overhead' && data.sluice?.ns) {
    charts.push({
      file: 'overhead.svg',
      title: 'Per-request overhead (in-process transport), median with range and interquartile range',
      spec: spreadChart({
        title: 'Per-request overhead, in-process transport',
        caption:
          'Time per sequential GET when the transport answers at once: shorter is less overhead; thin line: range over rounds, thick: IQR.',
        panels: [{ unit: 'ns per request', rows: Object.entries(data).map(([who, st]) => ({ who, ...st.ns })) }],
      }),
    });
  }
  if (result.name === 'loopback' && data.modes) {
    charts.push({
      file: 'loopback.svg',
      title: 'Throughput over loopback HTTP, median with range and interquartile range',
      spec: spreadChart({
        title: 'Throughput over loopback HTTP',
        caption: 'Requests per second to a local node:http server: longer is better; thin line: range over rounds, thick: IQR.',
        panels: Object.entries(data.modes).map(([mode, byWho]) => ({
          title: mode,
          unit: 'requests per second',
          rows: Object.entries(byWho).map(([who, st]) => ({ who, ...st.rps })),
        })),
      }),
    });
  }
  const grids = data.grids ?? (data.grid ? [data.grid] : []);
  grids.forEach((grid, i) => {
    charts.push({ file: `${result.name}-grid${grids.length > 1 ? `-${i + 1}` : ''}.svg`, title: grid.title, spec: gridChart(grid) });
  });
  return charts;
}

/**
 * Draws every section's charts into `dir`; resolves with, per section name, the markdown that shows them (paths relative
 * to test/bench/). A chart that fails to draw is reported and skipped: the figures matter more than the pictures.
 */
export async function drawCharts(results, { dir, log = console.error } = {}) {
  const shown = {};
  mkdirSync(dir, { recursive: true });
  for (const result of results) {
    for (const c of chartsOf(result)) {
      try {
        writeFileSync(join(dir, c.file), await renderSvg(c.spec));
        (shown[result.name] ??= []).push(`![${c.title}](charts/${c.file})`);
        log(`chart: test/bench/charts/${c.file}`);
      } catch (error) {
        log(`chart ${c.file} not drawn: ${error.message}`);
      }
    }
  }
  return shown;
}
