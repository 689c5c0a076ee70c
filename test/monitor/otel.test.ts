import { authToken, keyFingerprint } from '@sluice/auth-token';
import { json, type RecordedCall } from '@sluice/core/testing';
// A subpath: the tsconfig maps `@sluice/*` to each package's index only.
import { otelMetrics } from '@sluice/monitor/otel';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, drive, setup } from './helpers.js';
import { sdk } from './libs.js';

const KEY = 'sk_live_OTEL_0123456789abcdef';
const KEY_ID = await keyFingerprint(KEY);
const TOKEN_PATH = '/v2/auth/token/access';

// A reader that collects when asked, as a Prometheus scrape or a periodic exporter would.
class TestReader extends sdk.MetricReader {
  protected override onForceFlush = async () => {};
  protected override onShutdown = async () => {};
}

async function collect(reader: TestReader) {
  const { resourceMetrics, errors } = await reader.collect();
  assert.equal(errors, []);
  const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const points = (name: string) => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
  return { resourceMetrics, metrics, points };
}

function api(call: RecordedCall) {
  const path = new URL(call.url).pathname;
  if (path === TOKEN_PATH) return json({ access_token: 'tok-1', expires_in: 900 });
  if (path === '/v2/limited') return new Response(null, { status: 429, headers: { 'retry-after': '1' } });
  return new Response('{}', { status: 200, headers: { 'x-ratelimit-remaining': '41' } });
}

function instrumented() {
  const s = setup({}, [authToken({ apiKey: KEY, baseUrl: API }), rateLimit({ rules: [{ limit: 2, windowMs: 1000 }] })]);
  s.transport.fallback(api);
  const reader = new TestReader();
  const provider = new sdk.MeterProvider({ readers: [reader] });
  const stop = otelMetrics(s.mon, provider.getMeter('sluice-test'));
  return { ...s, reader, provider, stop };
}

test('counters and histograms carry the key fingerprint and the endpoint, never the key', async () => {
  const { fetch, clock, reader } = instrumented();
  // Driven, not advanced by a fixed step: the key's fingerprint comes from crypto.subtle, off the virtual clock.
  await drive(clock, Promise.all([fetch(`${API}/v2/items`), fetch(`${API}/v2/items`), fetch(`${API}/v2/limited`)]));
  const { resourceMetrics, points } = await collect(reader);

  const requests = points('sluice.requests').map((p) => [
    p.attributes['sluice.endpoint'],
    p.attributes['http.response.status_code'],
    p.value,
  ]);
  assert.equal(requests, [
    [TOKEN_PATH, 200, 1],
    ['/v2/items', 200, 2],
    ['/v2/limited', 429, 1],
  ]);
  for (const p of points('sluice.requests')) assert.is(p.attributes['sluice.key_id'], KEY_ID);
  assert.equal(
    points('sluice.rate_limited').map((p) => [p.attributes['sluice.endpoint'], p.value]),
    [['/v2/limited', 1]],
  );
  assert.equal(
    points('sluice.token.exchanges').map((p) => [p.attributes['sluice.key_id'], p.attributes['sluice.endpoint'], p.value]),
    [[KEY_ID, TOKEN_PATH, 1]],
  );
  const durations = points('sluice.request.duration');
  assert.is(
    durations.reduce((n, p) => n + (p.value as { count: number }).count, 0),
    4,
  );
  const waits = points('sluice.queue.wait').map((p) => p.value as { count: number; sum: number });
  assert.is(
    waits.reduce((n, w) => n + w.count, 0),
    2,
    'four requests (exchange included) at two a second: two waited',
  );
  assert.ok(
    waits.every((w) => w.sum >= 0.9 && w.sum <= 1.1),
    `queue waits ${JSON.stringify(waits)}`,
  );
  assert.not.ok(JSON.stringify(resourceMetrics).includes(KEY), 'the key is in no metric');
});

test('gauges report the last remaining, the usage share and the token age at each collection', async () => {
  const { fetch, clock, reader } = instrumented();
  await fetch(`${API}/v2/items`);
  await clock.advance(30_000);
  const first = await collect(reader);
  const value = (c: typeof first, name: string) => c.points(name).map((p) => [p.attributes['sluice.key_id'], p.value]);
  assert.equal(value(first, 'sluice.rate_limit.remaining'), [[KEY_ID, 41]]);
  assert.equal(value(first, 'sluice.rate_limit.usage'), [[KEY_ID, (60 - 41) / 60]], "the server's count: 41 of the default 60 left");
  assert.equal(value(first, 'sluice.token.age'), [[KEY_ID, 30]]);
  await clock.advance(31_000);
  const second = await collect(reader);
  assert.equal(value(second, 'sluice.token.age'), [[KEY_ID, 61]]);
  assert.equal(value(second, 'sluice.rate_limit.usage'), [[KEY_ID, 0]]);
});

test('the returned function stops the reporting', async () => {
  const { fetch, reader, stop, clock } = instrumented();
  await fetch(`${API}/v2/items`);
  stop();
  await drive(clock, fetch(`${API}/v2/items`));
  const { points } = await collect(reader);
  assert.is(
    points('sluice.requests').reduce((n, p) => n + (p.value as number), 0),
    2,
    'the exchange and the first call only',
  );
  assert.is(points('sluice.token.age').length, 0, 'gauges are no longer observed');
});

test.run();
