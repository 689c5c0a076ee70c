import { authToken, keyFingerprint } from '@sluice/auth-token';
import { json, type RecordedCall } from '@sluice/core/testing';
import type { MonitorSnapshot } from '@sluice/monitor';
// A subpath: the tsconfig maps `@sluice/*` to each package's index only.
import { prometheusContentType, renderPrometheus } from '@sluice/monitor/prometheus';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, keyFromHeader, setup } from './helpers.js';
import { type ParsedFamily, parsePrometheus, promClient } from './libs.js';

const KEY = 'sk_live_PROM_0123456789abcdef';
const KEY_ID = await keyFingerprint(KEY);
const ODD = '/v2/odd "quoted" \\ back\nslash';

function api(call: RecordedCall) {
  const path = new URL(call.url).pathname;
  if (path === '/v2/auth/token/access') return json({ access_token: 'tok', expires_in: 900 });
  if (path === '/v2/limited') return new Response(null, { status: 429, headers: { 'retry-after': '2' } });
  if (path === '/v2/down') return new TypeError('fetch failed');
  const reset = String(Math.ceil(call.at / 1000) + 40);
  return new Response('{}', { headers: { 'x-ratelimit-remaining': '17', 'x-ratelimit-reset': reset, 'x-ratelimit-limit': '60' } });
}

/** A snapshot from a real run: two keys, a token, a 429, a network error, an endpoint name full of escapes. */
async function sample(): Promise<MonitorSnapshot> {
  const s = setup({ endpoint: (request) => (request.url.includes('/odd') ? ODD : new URL(request.url).pathname) }, [
    keyFromHeader,
    authToken({ apiKey: KEY, baseUrl: API }),
  ]);
  s.transport.fallback(api);
  await s.fetch(`${API}/v2/items`);
  await s.fetch(`${API}/v2/limited`);
  await s.fetch(`${API}/v2/down`).catch(() => {});
  await s.fetch(`${API}/v2/odd`);
  await s.fetch(`https://other.example/v1/x`, { headers: { 'x-test-key': 'k2' } }).catch(() => {});
  await s.clock.advance(12_500);
  return s.mon.snapshot();
}

// The text format, version 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|Inf)|NaN)';
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*)?\\})? ${VALUE}$`);

test('every line is a HELP, TYPE or sample line of the text format, each family typed once before its samples', async () => {
  const text = renderPrometheus(await sample());
  assert.ok(text.endsWith('\n'));
  const typed = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    const sampleLine = SAMPLE.exec(line);
    assert.ok(help || type || sampleLine, `not a valid line: ${JSON.stringify(line)}`);
    if (type) {
      assert.not.ok(typed.has(type[1]!), `${type[1]} typed twice`);
      typed.set(type[1]!, type[2]!);
      current = type[1];
    }
    if (sampleLine) assert.is(sampleLine[1], current, `sample of ${sampleLine[1]} outside its family`);
  }
  assert.ok(typed.size >= 14);
  for (const [name, type] of typed) if (type === 'counter') assert.ok(name.endsWith('_total'), `${name} is a counter`);
  assert.is(prometheusContentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test("parses back into the snapshot's figures", async () => {
  const snapshot = await sample();
  const families = parsePrometheus(renderPrometheus(snapshot));
  const value = (name: string, labels: Record<string, string>) =>
    Number(
      families.find((f) => f.name === `sluice_${name}`)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
        ?.value,
    );
  const k = snapshot.keys.find((row) => row.keyId === KEY_ID)!;
  assert.is(value('requests_total', { key_id: KEY_ID, endpoint: '/v2/items' }), 1);
  assert.is(value('responses_total', { key_id: KEY_ID, endpoint: '/v2/limited', class: '4xx' }), 1);
  assert.is(value('rate_limited_total', { key_id: KEY_ID, endpoint: '/v2/limited' }), 1);
  assert.is(value('errors_total', { key_id: KEY_ID, endpoint: '/v2/down' }), 1);
  assert.is(value('token_exchanges_total', { key_id: KEY_ID, endpoint: '/v2/auth/token/access' }), 1);
  assert.is(value('requests_total', { key_id: KEY_ID, endpoint: ODD }), 1, 'the escaped label reads back as it was');
  assert.is(value('rate_limit_remaining', { key_id: KEY_ID }), 17);
  assert.is(value('rate_limit_reset_timestamp_seconds', { key_id: KEY_ID }), k.rateLimit!.resetAt! / 1000);
  assert.is(value('rate_limit_usage_ratio', { key_id: KEY_ID }), k.usage.share);
  assert.is(value('token_age_seconds', { key_id: KEY_ID }), 12.5);
  assert.is(value('requests_total', { key_id: 'k2', endpoint: '/v1/x' }), 1);
  assert.is(value('monitor_evicted_total', { what: 'keys' }), 0);
});

test('renders what prom-client renders for the same figures', async () => {
  const snapshot = await sample();
  const registry = new promClient.Registry();
  const counter = (name: string, help: string, labelNames: string[], rows: Array<[Record<string, string>, number]>) => {
    const c = new promClient.Counter({ name: `sluice_${name}`, help, labelNames, registers: [registry] });
    for (const [labels, v] of rows) c.inc(labels, v);
  };
  const gauge = (name: string, help: string, rows: Array<[Record<string, string>, number | undefined]>) => {
    const g = new promClient.Gauge({ name: `sluice_${name}`, help, labelNames: ['key_id'], registers: [registry] });
    for (const [labels, v] of rows) if (v !== undefined) g.set(labels, v);
  };
  const ep = snapshot.keys.flatMap((k) => k.endpoints.map((e) => ({ labels: { key_id: k.keyId, endpoint: e.endpoint }, e })));
  const keys = snapshot.keys.map((k) => ({ labels: { key_id: k.keyId }, k }));
  const byEndpoint = ['key_id', 'endpoint'];
  counter(
    'requests_total',
    'Requests sent to the server, retries and token exchanges included.',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.requests]),
  );
  counter(
    'responses_total',
    'Answers by status class.',
    [...byEndpoint, 'class'],
    ep.flatMap(({ labels, e }) =>
      Object.entries(e.responses).map(([cls, n]): [Record<string, string>, number] => [{ ...labels, class: cls }, n]),
    ),
  );
  counter(
    'errors_total',
    'Requests that got no answer (network error or abort).',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.errors]),
  );
  counter(
    'rate_limited_total',
    '429 answers.',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.rateLimited]),
  );
  counter(
    'retries_total',
    'Requests sent again for the same call.',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.retries]),
  );
  counter(
    'queue_waits_total',
    "Requests that waited in rate-limit's queue.",
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.queueWaits]),
  );
  counter(
    'queue_wait_seconds_total',
    'Time those requests waited.',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.queueWaitMs / 1000]),
  );
  counter(
    'token_exchanges_total',
    'Token exchanges answered 2xx.',
    byEndpoint,
    ep.map(({ labels, e }) => [labels, e.tokenExchanges]),
  );
  gauge(
    'rate_limit_used',
    'Requests counted over the usage window.',
    keys.map(({ labels, k }) => [labels, k.usage.used]),
  );
  gauge(
    'rate_limit_usage_ratio',
    'Share of the limit used over the usage window.',
    keys.map(({ labels, k }) => [labels, k.usage.share]),
  );
  gauge(
    'rate_limit_remaining',
    'Last X-RateLimit-Remaining seen.',
    keys.map(({ labels, k }) => [labels, k.rateLimit?.remaining]),
  );
  gauge(
    'rate_limit_reset_timestamp_seconds',
    'Last X-RateLimit-Reset seen, as a Unix time.',
    keys.map(({ labels, k }) => [labels, k.rateLimit?.resetAt && k.rateLimit.resetAt / 1000]),
  );
  gauge(
    'token_age_seconds',
    'Age of the access token in use.',
    keys.map(({ labels, k }) => [labels, k.token && k.token.ageMs / 1000]),
  );
  gauge(
    'key_expiry_timestamp_seconds',
    'When the API key expires, as a Unix time.',
    keys.map(({ labels, k }) => [labels, k.keyExpiresAt && k.keyExpiresAt / 1000]),
  );
  counter(
    'monitor_evicted_total',
    'Rows dropped to keep memory bounded.',
    ['what'],
    [
      [{ what: 'keys' }, snapshot.evicted.keys],
      [{ what: 'endpoints' }, snapshot.evicted.endpoints],
    ],
  );

  const normalise = (families: ParsedFamily[]) =>
    families
      .map((f) => ({
        ...f,
        metrics: f.metrics
          .map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }))
          .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  const ours = normalise(parsePrometheus(renderPrometheus(snapshot)));
  const theirs = normalise(parsePrometheus(await registry.metrics()));
  assert.equal(ours, theirs);
  assert.ok(ours.find((f) => f.name === 'sluice_requests_total')!.metrics.some((m) => m.labels.endpoint === ODD));
});

test('a prefix renames every metric', async () => {
  const text = renderPrometheus(await sample(), { prefix: 'acme_api_' });
  const names = parsePrometheus(text).map((f) => f.name);
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('acme_api_')));
});

test.run();
