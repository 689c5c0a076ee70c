import type { LoggedEvent } from './record.js';
import { renderSvg, themes } from './render.js';
import { figuresOf, type Limit, timelineOf } from './timeline.js';
import { type TimelineChartOptions, timelineSpec } from './timeline-spec.js';

export interface ReportOptions extends TimelineChartOptions {
  /** The events, from `recordEvents()`. */
  log: readonly LoggedEvent[];
  /** The key's request-rate rule, drawn as the limit line. @default undefined (no line, no windows) */
  limit?: Limit;
  /** The page's heading. @default 'sluice sync report' */
  heading?: string;
  /** The caller's own figures, shown before those read from the log, like `['incidents synced', '3000']`. @default [] */
  figures?: readonly (readonly [string, string])[];
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const STYLE = `
:root { color-scheme: light dark; --bg: ${themes.light.background}; --fg: ${themes.light.text}; --muted: ${themes.light.muted}; --line: ${themes.light.grid}; }
@media (prefers-color-scheme: dark) {
  :root { --bg: ${themes.dark.background}; --fg: ${themes.dark.text}; --muted: ${themes.dark.muted}; --line: ${themes.dark.grid}; }
  .chart.light { display: none; }
  .chart.dark { display: block; }
}
.chart.dark { display: none; }
body { background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 840px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.muted { color: var(--muted); }
table { border-collapse: collapse; }
td { padding: 0.25rem 1.5rem 0.25rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td:first-child { color: var(--muted); }
.chart svg { max-width: 100%; height: auto; }
`;

/**
 * The report as one self-contained HTML page: the figures, then the timeline rendered to SVG twice (for a light and a
 * dark page; CSS shows the one that matches `prefers-color-scheme`). No script, no external style, font or image.
 */
export async function renderReport(options: ReportOptions): Promise<string> {
  const timeline = timelineOf(options.log, options.limit);
  const [light, dark] = await Promise.all([
    renderSvg(timelineSpec(timeline, themes.light, options)),
    renderSvg(timelineSpec(timeline, themes.dark, options)),
  ]);
  const rows = [...(options.figures ?? []), ...figuresOf(timeline)];
  const heading = options.heading ?? 'sluice sync report';
  const first = options.log[0];
  const last = options.log.at(-1);
  const span = first && last ? `from ${new Date(first.t).toISOString()} to ${new Date(last.t).toISOString()}` : 'empty';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(heading)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(heading)}</h1>
<p class="muted">${options.log.length} pipeline events, ${escapeHtml(span)}.</p>
<h2>Summary</h2>
<table>
${rows.map(([label, value]) => `<tr><td>${escapeHtml(label)}</td><td>${escapeHtml(value)}</td></tr>`).join('\n')}
</table>
<h2>Timeline</h2>
<div class="chart light">${light}</div>
<div class="chart dark">${dark}</div>
<p class="muted">Drawn by @sluice/report from the pipeline's own events (rate-limit, auth-token, retry-429, error-map), with Vega-Lite.</p>
</body>
</html>
`;
}

/** The timeline alone, as an SVG file's text: on a light background by default, readable on light and dark pages alike. */
export function renderTimelineSvg(options: Omit<ReportOptions, 'heading' | 'figures'>, theme = themes.light): Promise<string> {
  return renderSvg(timelineSpec(timelineOf(options.log, options.limit), theme, options));
}
