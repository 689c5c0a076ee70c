import type { Counts, KeySnapshot, MonitorSnapshot } from './index.js';

/** The `Content-Type` of the text exposition format `renderPrometheus` writes. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusOptions {
  /** Prefix of every metric name. @default 'sluice_' */
  prefix?: string;
}

type Labels = Record<string, string>;
type Sample = [Labels, number];

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const number = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));
const labels = (l: Labels) => {
  const pairs = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
};

/** A monitor snapshot in the Prometheus text exposition format (0.0.4), for a `/metrics` route. */
export function renderPrometheus(snapshot: MonitorSnapshot, options: PrometheusOptions = {}): string {
  const p = options.prefix ?? 'sluice_';
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]) => {
    out.push(`# HELP ${p}${name} ${escapeHelp(help)}`, `# TYPE ${p}${name} ${type}`);
    for (const [l, v] of samples) out.push(`${p}${name}${labels(l)} ${number(v)}`);
  };
  const perEndpoint = (read: (c: Counts) => number, extra: Labels = {}): Sample[] =>
    snapshot.keys.flatMap((k) => k.endpoints.map((e): Sample => [{ key_id: k.keyId, endpoint: e.endpoint, ...extra }, read(e)]));
  const perKey = (read: (k: KeySnapshot) => number | undefined): Sample[] =>
    snapshot.keys.flatMap((k) => {
      const v = read(k);
      return v === undefined ? [] : [[{ key_id: k.keyId }, v] as Sample];
    });

  family(
    'requests_total',
    'counter',
    'Requests sent to the server, retries and token exchanges included.',
    perEndpoint((c) => c.requests),
  );
  const classes = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
  family(
    'responses_total',
    'counter',
    'Answers by status class.',
    classes.flatMap((cls) => perEndpoint((c) => c.responses[cls], { class: cls })),
  );
  family(
    'errors_total',
    'counter',
    'Requests that got no answer (network error or abort).',
    perEndpoint((c) => c.errors),
  );
  family(
    'rate_limited_total',
    'counter',
    '429 answers.',
    perEndpoint((c) => c.rateLimited),
  );
  family(
    'retries_total',
    'counter',
    'Requests sent again for the same call.',
    perEndpoint((c) => c.retries),
  );
  family(
    'queue_waits_total',
    'counter',
    "Requests that waited in rate-limit's queue.",
    perEndpoint((c) => c.queueWaits),
  );
  family(
    'queue_wait_seconds_total',
    'counter',
    'Time those requests waited.',
    perEndpoint((c) => c.queueWaitMs / 1000),
  );
  family(
    'token_exchanges_total',
    'counter',
    'Token exchanges answered 2xx.',
    perEndpoint((c) => c.tokenExchanges),
  );
  family(
    'rate_limit_used',
    'gauge',
    'Requests counted over the usage window.',
    perKey((k) => k.usage.used),
  );
  family(
    'rate_limit_usage_ratio',
    'gauge',
    'Share of the limit used over the usage window.',
    perKey((k) => k.usage.share),
  );
  family(
    'rate_limit_remaining',
    'gauge',
    'Last X-RateLimit-Remaining seen.',
    perKey((k) => k.rateLimit?.remaining),
  );
  family(
    'rate_limit_reset_timestamp_seconds',
    'gauge',
    'Last X-RateLimit-Reset seen, as a Unix time.',
    perKey((k) => (k.rateLimit?.resetAt === undefined ? undefined : k.rateLimit.resetAt / 1000)),
  );
  family(
    'token_age_seconds',
    'gauge',
    'Age of the access token in use.',
    perKey((k) => (k.token ? k.token.ageMs / 1000 : undefined)),
  );
  family(
    'key_expiry_timestamp_seconds',
    'gauge',
    'When the API key expires, as a Unix time.',
    perKey((k) => (k.keyExpiresAt === undefined ? undefined : k.keyExpiresAt / 1000)),
  );
  family('monitor_evicted_total', 'counter', 'Rows dropped to keep memory bounded.', [
    [{ what: 'keys' }, snapshot.evicted.keys],
    [{ what: 'endpoints' }, snapshot.evicted.endpoints],
  ]);
  return `${out.join('\n')}\n`;
}
