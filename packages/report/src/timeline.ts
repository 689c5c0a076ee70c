import type { LoggedEvent } from './record.js';

/** A request-rate rule: at most `limit` requests in any `windowMs`. */
export interface Limit {
  limit: number;
  windowMs: number;
}

/**
 * What the timeline draws, read from an event log. Times are seconds since the first event.
 * - `windows`: requests sent (rate-limit granted a slot: each HTTP request, token exchanges and retries included) per
 *   window of `limit.windowMs`, counted from the first event.
 * - `trailing`: how many were sent in the window that ends at each moment (what a sliding-window server counts), as steps:
 *   up at each request, down when one leaves the window.
 * - `received429`: each 429 the pipeline received (`rate-limit:exceeded`); `reachedCaller`: each that came out as an error.
 * - `tokens`: each token acquired, from its exchange to its expiry (cut at the end of the log), and why it was exchanged.
 * - `pauses`: the spans in which the key was paused (overlapping pauses merged, empty ones left out).
 * - `queue`: requests waiting after each event, when the log has it.
 */
export interface Timeline {
  durationS: number;
  /** Requests sent in all. */
  requests: number;
  limit: Limit | undefined;
  windows: { from: number; to: number; sent: number }[];
  trailing: { t: number; sent: number }[];
  received429: { t: number; url: string }[];
  reachedCaller: { t: number; status: number; url: string }[];
  tokens: { n: number; t: number; until: number; reason: string; expiresInS: number }[];
  pauses: { from: number; to: number; reason: string }[];
  queue: { t: number; waiting: number }[] | undefined;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');
const num = (value: unknown) => (typeof value === 'number' ? value : 0);

/** Reads the marks of the timeline from an event log (oldest first). */
export function timelineOf(log: readonly LoggedEvent[], limit?: Limit): Timeline {
  const start = log[0]?.t ?? 0;
  const end = log.at(-1)?.t ?? start;
  const sec = (ms: number) => (ms - start) / 1000;
  const of = (type: string) => log.filter((e) => e.type === type);
  const sent = of('rate-limit:acquired').map((e) => e.t);

  const windows: Timeline['windows'] = [];
  const trailing: Timeline['trailing'] = [];
  if (limit) {
    const count = Math.max(1, Math.ceil((end - start) / limit.windowMs));
    for (let i = 0; i < count; i++) {
      const from = start + i * limit.windowMs;
      windows.push({
        from: sec(from),
        to: sec(Math.min(from + limit.windowMs, end)),
        sent: sent.filter((t) => t >= from && t < from + limit.windowMs).length,
      });
    }
    // The last window takes what was sent at the very end, at `end` itself.
    const last = windows.at(-1);
    if (last) last.sent += sent.filter((t) => t >= start + count * limit.windowMs).length;
    trailing.push(...trailingCounts(sent, limit.windowMs, end).map((p) => ({ t: sec(p.t), sent: p.sent })));
  }

  const pauses: Timeline['pauses'] = [];
  for (const e of of('rate-limit:paused')) {
    const from = sec(e.t);
    const to = sec(Math.min(num(e.payload.until), end));
    if (to <= from) continue; // a 429 with Retry-After: 0 pauses nothing
    const open = pauses.at(-1);
    if (open && from <= open.to) open.to = Math.max(open.to, to);
    else pauses.push({ from, to, reason: text(e.payload.reason) });
  }

  const hasQueue = log.some((e) => e.waiting !== undefined);
  return {
    durationS: sec(end),
    requests: sent.length,
    limit,
    windows,
    trailing,
    received429: of('rate-limit:exceeded').map((e) => ({ t: sec(e.t), url: text(e.payload.url) })),
    reachedCaller: of('error:mapped')
      .filter((e) => e.payload.status === 429)
      .map((e) => ({ t: sec(e.t), status: 429, url: text(e.payload.url) })),
    tokens: of('auth:token-acquired').map((e, i) => {
      const expiresAt = num(e.payload.expiresAt);
      return {
        n: i + 1,
        t: sec(e.t),
        until: sec(Math.min(expiresAt, end)),
        reason: text(e.payload.reason),
        expiresInS: (expiresAt - e.t) / 1000,
      };
    }),
    pauses,
    queue: hasQueue ? log.filter((e) => e.waiting !== undefined).map((e) => ({ t: sec(e.t), waiting: e.waiting! })) : undefined,
  };
}

/** The count of `sent` (sorted times) in the window `(t - windowMs, t]` at each time it changes, up to `end`. */
function trailingCounts(sent: readonly number[], windowMs: number, end: number): { t: number; sent: number }[] {
  const points: { t: number; sent: number }[] = [];
  let entered = 0;
  let left = 0;
  while (entered < sent.length || left < entered) {
    // At one instant a request leaves the window (sent exactly `windowMs` ago) before the next one enters it.
    const leaving = left < entered ? sent[left]! + windowMs : Infinity;
    const entering = entered < sent.length ? sent[entered]! : Infinity;
    const t = Math.min(leaving, entering);
    if (t > end) break;
    if (leaving <= entering) left++;
    else entered++;
    if (points.at(-1)?.t === t) points.pop();
    points.push({ t, sent: entered - left });
  }
  return points;
}

/** The figures of a log: what a reader checks first. */
export function figuresOf(t: Timeline): [string, string][] {
  const peak = Math.max(0, ...t.trailing.map((p) => p.sent));
  const rows: [string, string][] = [
    ['duration', `${t.durationS.toFixed(1)} s`],
    ['requests sent', String(t.requests)],
    ['429s received', String(t.received429.length)],
    ['429s that reached the caller', String(t.reachedCaller.length)],
    ['tokens exchanged', `${t.tokens.length} (${t.tokens.filter((k) => k.reason === 'refresh-ahead').length} refreshed ahead of expiry)`],
    [
      'key paused',
      `${t.pauses.length} ${t.pauses.length === 1 ? 'time' : 'times'}, ${t.pauses.reduce((s, p) => s + p.to - p.from, 0).toFixed(1)} s in all`,
    ],
  ];
  if (t.limit) rows.push(['most in any window', `${peak} (limit ${t.limit.limit} per ${seconds(t.limit.windowMs)})`]);
  if (t.queue) rows.push(['most waiting in the queue', String(Math.max(0, ...t.queue.map((q) => q.waiting)))]);
  return rows;
}

/** `5 s`, `1 min`, `250 ms`. */
export function seconds(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms >= 1000 ? `${+(ms / 1000).toFixed(2)} s` : `${ms} ms`;
}
