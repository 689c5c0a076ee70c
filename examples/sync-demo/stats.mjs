// What the demo measures, at the transport (every HTTP request the pipeline sends) and at the caller.

/** Nearest-rank percentile of `values`, or 0 when there are none. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const kindOf = (path) =>
  path.endsWith('/auth/token/access')
    ? 'token'
    : path.endsWith('/incidents/list')
      ? 'list'
      : path.startsWith('/v2/event-details')
        ? 'details'
        : 'other';

/** Wraps the transport: counts requests by kind and status, and times each round trip. */
export function createRecorder(transport = (request) => globalThis.fetch(request)) {
  const r = {
    requests: 0,
    byKind: { token: 0, list: 0, details: 0, other: 0 },
    status429: 0,
    latencies: [],
    /** performance.now() of each answer in the last few seconds, for the live rate. */
    recent: [],
    first: undefined,
    last: undefined,
  };
  r.fetch = async (request) => {
    const started = performance.now();
    r.first ??= started;
    r.requests++;
    r.byKind[kindOf(new URL(request.url).pathname)]++;
    try {
      const response = await transport(request);
      if (response.status === 429) r.status429++;
      r.latencies.push(performance.now() - started);
      return response;
    } finally {
      r.last = performance.now();
      r.recent.push(r.last);
    }
  };
  /** Answers per second over the last `ms`. */
  r.rate = (ms = 3000) => {
    const since = performance.now() - ms;
    while (r.recent.length > 0 && r.recent[0] < since) r.recent.shift();
    return r.recent.length / (ms / 1000);
  };
  return r;
}

/**
 * The figures of the run. Throughput counts what the server counts (every request but the refused 429s), from the first
 * request to the last answer. `share` is that count against the limit's rate over the same time, or over one window if the
 * run was shorter (a fresh window may be spent at once, so a run of a few windows can show a little over 100%).
 * `allowed` is the most a window-based limit lets through in that time: a full window up front, then `limit` per window.
 */
export function summarize({ mode, recorder, sync, calls, tokens, limit, simulator, elapsedMs }) {
  const activeMs = recorder.first === undefined ? 0 : recorder.last - recorder.first;
  const counted = recorder.requests - recorder.status429;
  const allowed = limit.limit * (activeMs / limit.windowMs + 1);
  const round = (n, digits = 0) => Number(n.toFixed(digits));
  return {
    mode,
    elapsedMs: round(elapsedMs),
    incidents: sync.synced,
    events: sync.events,
    calls: recorder.byKind.list + sync.batches,
    requests: recorder.requests,
    requestsByKind: recorder.byKind,
    status429: { simulator: simulator?.rateLimited ?? null, received: recorder.status429, reachedCaller: sync.rateLimitErrors },
    retries: tokens.retries,
    tokensExchanged: tokens.acquired,
    tokenRefreshes: tokens.refreshed,
    errors: sync.errors,
    latencyMs: { p50: round(percentile(recorder.latencies, 50)), p95: round(percentile(recorder.latencies, 95)) },
    callLatencyMs: { p50: round(percentile(calls, 50)), p95: round(percentile(calls, 95)) },
    throughput: {
      perSecond: round(activeMs > 0 ? counted / (activeMs / 1000) : 0, 2),
      limitPerSecond: round((limit.limit / limit.windowMs) * 1000, 2),
      share: round(counted / (limit.limit * Math.max(1, activeMs / limit.windowMs)), 3),
      counted,
      allowed: Math.floor(allowed),
    },
    simulator: simulator
      ? {
          requests: simulator.requests,
          tokenExchanges: simulator.tokenExchanges,
          rateLimitedBy: simulator.rateLimitedBy,
          unauthorized: simulator.unauthorized,
        }
      : null,
  };
}

const plural = (n, word, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

/** The summary as a reader wants it, then one `summary: {json}` line for scripts. */
export function formatSummary(s, limit) {
  const k = s.requestsByKind;
  const q = s.status429;
  const lines = [
    '',
    `summary (${s.mode})`,
    `  synced            ${s.incidents} incidents, ${s.events} events, in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  requests          ${s.requests} sent: ${plural(k.list, 'list page')}, ${plural(k.details, 'event-details batch', 'event-details batches')}, ${plural(k.token, 'token exchange')}; ${s.retries} of them ${s.retries === 1 ? 'a retry' : 'retries'}`,
    `  429s              ${q.simulator === null ? '' : `${q.simulator} answered by the simulator, `}${q.received} received by the pipeline, ${q.reachedCaller} reached the caller`,
    `  tokens exchanged  ${s.tokensExchanged}${s.tokenRefreshes > 0 ? ` (${s.tokenRefreshes} refreshed ahead of expiry)` : ''}`,
    `  latency           round trip p50 ${seconds(s.latencyMs.p50)}, p95 ${seconds(s.latencyMs.p95)}; per call with queueing p50 ${seconds(s.callLatencyMs.p50)}, p95 ${seconds(s.callLatencyMs.p95)}`,
    `  throughput        ${s.throughput.perSecond} req/s: ${Math.round(s.throughput.share * 100)}% of the limit (${limit.limit} per ${limit.windowMs / 1000} s)${s.simulator ? `; the simulator refused ${s.simulator.rateLimitedBy.rate} for going over it` : ''}`,
    `  errors            ${s.errors}`,
    `summary: ${JSON.stringify(s)}`,
  ];
  return `${lines.join('\n')}\n`;
}
