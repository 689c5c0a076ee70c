/** A Vega-Lite specification (https://vega.github.io/vega-lite/docs/spec.html), as plain JSON. */
export type ChartSpec = Record<string, unknown>;

/** The colours of a chart, for a light or a dark page. */
export interface Theme {
  name: 'light' | 'dark';
  background: string;
  text: string;
  muted: string;
  grid: string;
  /** Marks: what was sent, the limit, 429s, what reached the caller, pauses, tokens. */
  sent: string;
  limit: string;
  rejected: string;
  reached: string;
  paused: string;
  token: string;
  /** One colour per series (contenders in the benchmark), sluice's first. */
  series: string[];
}

export const themes: Readonly<Record<Theme['name'], Theme>> = Object.freeze({
  light: {
    name: 'light',
    background: '#ffffff',
    text: '#1f2328',
    muted: '#59636e',
    grid: '#e1e4e8',
    sent: '#2563eb',
    limit: '#1f2328',
    rejected: '#dc2626',
    reached: '#7c3aed',
    paused: '#f59e0b',
    token: '#16a34a',
    series: ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#6b7280'],
  },
  dark: {
    name: 'dark',
    background: '#0d1117',
    text: '#e6edf3',
    muted: '#9198a1',
    grid: '#30363d',
    sent: '#60a5fa',
    limit: '#e6edf3',
    rejected: '#f87171',
    reached: '#c084fc',
    paused: '#fbbf24',
    token: '#4ade80',
    series: ['#60a5fa', '#fbbf24', '#34d399', '#f87171', '#c084fc', '#9ca3af'],
  },
});

/** Vega-Lite's `config` for a theme: background, text, axes, legends and titles in its colours. */
export function configFor(theme: Theme): ChartSpec {
  const axis = {
    domainColor: theme.muted,
    tickColor: theme.muted,
    gridColor: theme.grid,
    labelColor: theme.muted,
    titleColor: theme.text,
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
  };
  return {
    background: theme.background,
    padding: { left: 12, top: 12, bottom: 12, right: 20 },
    font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    view: { stroke: theme.grid },
    axis,
    legend: { labelColor: theme.text, titleColor: theme.text, labelFontSize: 11, titleFontSize: 12 },
    title: { color: theme.text, subtitleColor: theme.muted, fontSize: 15, subtitleFontSize: 12, anchor: 'start', offset: 10 },
    header: { labelColor: theme.text, titleColor: theme.text },
    text: { color: theme.text },
    range: { category: theme.series },
  };
}

/**
 * Renders a Vega-Lite spec to an SVG string, in Node or any runtime, without a browser or a canvas (text widths are
 * estimated). Vega and Vega-Lite are loaded on the first call (about 250 ms); a chart then takes about 100 ms.
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  // Without a canvas Vega takes every character as 0.8 em wide, which makes long titles push the SVG twice as wide as
  // its plot; this estimate is within a few percent for sans-serif text.
  (vega as unknown as { textMetrics: TextMetrics }).textMetrics.width = (item, text) =>
    textWidth(String(text ?? '').trim(), item.fontSize ?? 11, item.fontWeight === 'bold' || Number(item.fontWeight) >= 600);
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

interface TextMetrics {
  width(item: { fontSize?: number; fontWeight?: string | number }, text?: string): number;
}

const NARROW = new Set(" .,:;'|!()[]ijlftI1");
const WIDE = new Set('mwMW@%');

/** Width of `text` in pixels at `size`, from the widths of sans-serif letters by kind. */
export function textWidth(text: string, size: number, bold = false): number {
  let em = 0;
  // Erring wide (DejaVu Sans, where no other font is, is wider than system-ui): a label taken too wide leaves a gap, one
  // taken too narrow overlaps its neighbour or is cut at the edge.
  for (const c of text) em += NARROW.has(c) ? 0.34 : WIDE.has(c) ? 0.9 : c >= 'a' && c <= 'z' ? 0.57 : c >= '0' && c <= '9' ? 0.62 : 0.7;
  return Math.ceil(em * size * (bold ? 1.08 : 1));
}
