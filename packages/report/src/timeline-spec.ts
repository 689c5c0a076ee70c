import { type ChartSpec, configFor, type Theme } from './render.js';
import { seconds, type Timeline } from './timeline.js';

const WIDTH = 760;

export interface TimelineChartOptions {
  /** @default 'Sync timeline' */
  title?: string;
  /** One line under the title: what to see. @default a sentence on the limit line and the marks */
  caption?: string;
}

/**
 * The timeline as one Vega-Lite chart, three panels on one time axis: requests sent against the limit with 429s and
 * pauses, each token's validity, the queue. Every mark layer is named (`windows`, `trailing`, `limit`, `received429`,
 * `reachedCaller`, `pauses`, `tokenBands`, `exchanges`, `refreshes`, `queue`): the SVG's groups carry `<name>_marks`.
 */
export function timelineSpec(t: Timeline, theme: Theme, options: TimelineChartOptions = {}): ChartSpec {
  const domain = [0, Math.max(t.durationS, 0.001)];
  const x = (field: string, title: string | null = null) => ({
    field,
    type: 'quantitative',
    scale: { domain, nice: false, zero: true },
    axis: { title, labelFlush: true },
  });
  const labels = {
    windows: 'sent per window',
    trailing: 'sent in the window ending there',
    limit: 'limit',
    rejected: '429 received',
    reached: '429 reached the caller',
    paused: 'key paused',
    token: 'token valid',
    exchange: 'token exchanged',
    refresh: 'refreshed ahead of expiry',
    queue: 'requests waiting',
  };
  const colors: Record<string, string> = {
    [labels.windows]: theme.sent,
    [labels.trailing]: theme.sent,
    [labels.limit]: theme.limit,
    [labels.rejected]: theme.rejected,
    [labels.reached]: theme.reached,
    [labels.paused]: theme.paused,
    [labels.token]: theme.token,
    [labels.exchange]: theme.token,
    [labels.refresh]: theme.sent,
    [labels.queue]: theme.muted,
  };
  const color = (label: string) => ({
    datum: label,
    type: 'nominal',
    scale: { domain: Object.keys(colors), range: Object.values(colors) },
    legend: null,
  });

  const peak = Math.max(1, t.limit?.limit ?? 0, ...t.windows.map((w) => w.sent), ...t.trailing.map((p) => p.sent));
  const y = { type: 'quantitative', scale: { domain: [0, Math.ceil(peak * 1.3)], nice: false } };
  const per = t.limit ? seconds(t.limit.windowMs) : undefined;
  const requests: ChartSpec = {
    title: {
      text: 'Requests sent',
      subtitle: [
        'bars: sent per window; line: sent in the window ending at each moment; shaded: key paused',
        `▼ 429 received (${t.received429.length}); ✕ 429 reached the caller (${t.reachedCaller.length}); a pause follows a 429 or the server's "0 left"`,
      ],
    },
    width: WIDTH,
    height: 220,
    layer: [
      layer('pauses', t.pauses, { type: 'rect', opacity: 0.22 }, { x: x('from'), x2: { field: 'to' }, color: color(labels.paused) }),
      layer(
        'windows',
        t.windows,
        { type: 'rect', opacity: 0.3 },
        {
          x: x('from'),
          x2: { field: 'to' },
          y: { ...y, field: 'sent', axis: { title: per ? `requests per ${per} window` : 'requests' } },
          color: color(labels.windows),
        },
      ),
      layer(
        'trailing',
        t.trailing,
        { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
        {
          x: x('t'),
          y: { ...y, field: 'sent' },
          color: color(labels.trailing),
        },
      ),
      ...(t.limit
        ? [
            layer(
              'limit',
              [{ limit: t.limit.limit }],
              { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 },
              {
                y: { ...y, field: 'limit' },
                color: color(labels.limit),
              },
            ),
            layer(
              'limitLabel',
              [{ limit: t.limit.limit, text: `limit: ${t.limit.limit} per ${per}` }],
              {
                type: 'text',
                align: 'left',
                dx: 4,
                dy: -7,
                fontSize: 11,
              },
              { x: { datum: 0, type: 'quantitative' }, y: { ...y, field: 'limit' }, text: { field: 'text' }, color: color(labels.limit) },
            ),
          ]
        : []),
      layer(
        'received429',
        t.received429,
        { type: 'point', shape: 'triangle-down', filled: true, size: 60, opacity: 0.85 },
        {
          x: x('t'),
          y: { datum: peak * 1.12, type: 'quantitative' },
          color: color(labels.rejected),
        },
      ),
      layer(
        'reachedCaller',
        t.reachedCaller,
        { type: 'point', shape: 'cross', angle: 45, filled: true, size: 90 },
        {
          x: x('t'),
          y: { datum: peak * 1.24, type: 'quantitative' },
          color: color(labels.reached),
        },
      ),
    ],
  };

  const rows = t.tokens.map((k) => ({ ...k, row: `#${k.n}` }));
  const row = { field: 'row', type: 'ordinal', sort: rows.map((r) => r.row), axis: { title: 'token' } };
  const tokens: ChartSpec = {
    title: {
      text: 'Tokens',
      subtitle: 'each token from its exchange to its expiry, replaced before it ends; ● exchanged, ◆ refreshed ahead of expiry',
    },
    width: WIDTH,
    height: 18 * Math.max(2, rows.length),
    layer: [
      layer(
        'tokenBands',
        rows,
        { type: 'bar', opacity: 0.35, height: { band: 0.6 } },
        { x: x('t'), x2: { field: 'until' }, y: row, color: color(labels.token) },
      ),
      layer(
        'exchanges',
        rows.filter((r) => r.reason !== 'refresh-ahead'),
        { type: 'point', shape: 'circle', filled: true, size: 70 },
        {
          x: x('t'),
          y: row,
          color: color(labels.exchange),
        },
      ),
      layer(
        'refreshes',
        rows.filter((r) => r.reason === 'refresh-ahead'),
        { type: 'point', shape: 'diamond', filled: true, size: 80 },
        {
          x: x('t'),
          y: row,
          color: color(labels.refresh),
        },
      ),
    ],
  };

  const panels = [requests, tokens];
  if (t.queue) {
    panels.push({
      title: { text: 'Queue', subtitle: 'requests waiting for a slot under the limits' },
      width: WIDTH,
      height: 90,
      layer: [
        layer(
          'queue',
          t.queue,
          { type: 'area', interpolate: 'step-after', opacity: 0.5 },
          {
            x: x('t'),
            y: {
              field: 'waiting',
              type: 'quantitative',
              stack: null,
              scale: { domain: [0, Math.max(1, ...t.queue.map((q) => q.waiting))] },
              axis: { title: 'requests waiting', tickMinStep: 1, format: 'd' },
            },
            color: color(labels.queue),
          },
        ),
      ],
    });
  }
  // The time axis is titled once, under the last panel.
  const bottom = panels.at(-1) as { layer: { encoding: { x?: { axis: { title: string | null } } } }[] };
  for (const l of bottom.layer) if (l.encoding.x) l.encoding.x.axis.title = 'time since the first event (s)';

  return {
    title: {
      text: options.title ?? 'Sync timeline',
      subtitle:
        options.caption ??
        (t.limit
          ? 'Requests pack up to the dashed limit and never cross it; 429s (▼) are few and none reaches the caller (✕).'
          : '429s (▼) are few and none reaches the caller (✕); each token is replaced before it expires.'),
    },
    config: configFor(theme),
    vconcat: panels,
    spacing: 18,
  };
}

function layer(name: string, values: readonly object[], mark: object, encoding: object): ChartSpec {
  return { name, data: { values }, mark, encoding };
}
