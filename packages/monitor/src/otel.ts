import type { Attributes, BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { Monitor } from './index.js';

export interface OtelMetricsOptions {
  /** Prefix of every instrument name. @default 'sluice.' */
  prefix?: string;
}

/**
 * Reports a monitor's figures as OpenTelemetry metrics on `meter`: counters and histograms as requests settle,
 * gauges read from `monitor.snapshot()` at each collection. Attributes name the key by its fingerprint, never the key.
 * Returns a function that stops reporting.
 */
export function otelMetrics(monitor: Monitor, meter: Meter, options: OtelMetricsOptions = {}): () => void {
  const p = options.prefix ?? 'sluice.';
  const requests = meter.createCounter(`${p}requests`, {
    description: 'Requests sent to the server, retries and token exchanges included',
  });
  const rateLimited = meter.createCounter(`${p}rate_limited`, { description: '429 answers' });
  const retries = meter.createCounter(`${p}retries`, { description: 'Requests sent again for the same call' });
  const exchanges = meter.createCounter(`${p}token.exchanges`, { description: 'Token exchanges answered 2xx' });
  const duration = meter.createHistogram(`${p}request.duration`, { description: 'Time to the response headers', unit: 's' });
  const queueWait = meter.createHistogram(`${p}queue.wait`, { description: "Time waited in rate-limit's queue", unit: 's' });
  const remaining = meter.createObservableGauge(`${p}rate_limit.remaining`, { description: 'Last X-RateLimit-Remaining seen' });
  const usage = meter.createObservableGauge(`${p}rate_limit.usage`, { description: 'Share of the limit used over the window', unit: '1' });
  const tokenAge = meter.createObservableGauge(`${p}token.age`, { description: 'Age of the access token in use', unit: 's' });
  const gauges: Observable[] = [remaining, usage, tokenAge];

  const off = monitor.subscribe((r) => {
    const attributes: Attributes = { 'sluice.key_id': r.keyId, 'sluice.endpoint': r.endpoint };
    if (r.type === 'queue-wait') return queueWait.record(r.waitedMs / 1000, attributes);
    attributes['http.request.method'] = r.method;
    if (r.status === undefined) attributes['error.type'] = 'no_response';
    else attributes['http.response.status_code'] = r.status;
    requests.add(1, attributes);
    duration.record(r.durationMs / 1000, attributes);
    const base = { 'sluice.key_id': r.keyId, 'sluice.endpoint': r.endpoint };
    if (r.rateLimited) rateLimited.add(1, base);
    if (r.retry) retries.add(1, base);
    if (r.tokenExchange && r.status !== undefined && r.status >= 200 && r.status < 300) exchanges.add(1, base);
  });

  const observe = (result: BatchObservableResult) => {
    for (const k of monitor.snapshot().keys) {
      const attributes = { 'sluice.key_id': k.keyId };
      result.observe(usage, k.usage.share, attributes);
      if (k.rateLimit?.remaining !== undefined) result.observe(remaining, k.rateLimit.remaining, attributes);
      if (k.token) result.observe(tokenAge, k.token.ageMs / 1000, attributes);
    }
  };
  meter.addBatchObservableCallback(observe, gauges);
  return () => {
    off();
    meter.removeBatchObservableCallback(observe, gauges);
  };
}
