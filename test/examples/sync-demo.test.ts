import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { externalReferences, marksOf } from '../report/svg.js';

// The demo runs on the built packages (test/all.mjs builds first) and on the real clock: the one suite that takes
// real time (~30 s), because what it checks is the real demo, over loopback HTTP.
const root = resolve(import.meta.dirname, '../..');

function runDemo(
  env: Record<string, string> = {},
  args: string[] = ['--no-report'],
  timeoutMs = 120_000,
): Promise<{ code: number | null; out: string; err: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CYBERHAVEN_')));
  const child = spawn(process.execPath, ['examples/sync-demo/index.mjs', ...args], {
    cwd: root,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const timer = setTimeout(() => child.kill(), timeoutMs);
  return new Promise((done) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out, err });
    }),
  );
}

function summaryOf(out: string) {
  const line = out.split('\n').find((l) => l.startsWith('summary: '));
  assert.ok(line, `no summary line in:\n${out}`);
  return JSON.parse(line.slice('summary: '.length));
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
const reportFile = join(dir, 'report.html');
let simulatorOut = '';

test('the demo syncs every incident against the simulator, piped, with no control codes and the figures it promises', async () => {
  const { code, out, err } = await runDemo({}, ['--report', reportFile]);
  simulatorOut = out;
  assert.is(code, 0, `exit ${code}\n${out}\n${err}`);
  assert.ok(!out.includes(String.fromCharCode(27)) && !out.includes('\r'), 'no escape codes or carriage returns when not a TTY');
  assert.match(out, /\[ *\d+\.\ds\] +\d+% \d+\/3000 incidents synced/, 'plain progress lines');
  assert.match(out, 'token refreshed ahead of expiry');
  assert.match(out, /429 on GET \/v2\/event-details: retry/);
  const s = summaryOf(out);
  assert.is(s.mode, 'simulator');
  assert.is(s.incidents, 3000);
  assert.ok(s.events > 3000, `events ${s.events}`);
  assert.ok(s.requests > 200, `requests ${s.requests}`);
  assert.is(s.errors, 0);
  assert.is(s.status429.reachedCaller, 0, 'no 429 reached the caller');
  assert.ok(s.status429.simulator >= 1, 'the storm answered 429s');
  assert.is(s.status429.received, s.status429.simulator, 'the pipeline saw every 429 the simulator sent');
  assert.ok(s.retries >= s.status429.received, 'and retried each');
  assert.ok(s.tokensExchanged >= 2 && s.tokenRefreshes >= 1, `tokens ${s.tokensExchanged}, refreshed ${s.tokenRefreshes}`);
  assert.is(s.simulator.tokenExchanges, s.tokensExchanged);
  assert.ok(
    Object.values(s.simulator.unauthorized).every((n) => n === 0),
    'no call went out with an expired or missing token',
  );
  assert.equal(s.simulator.rateLimitedBy, { rate: 0, concurrency: 0, storm: s.status429.simulator }, 'only the storm refused anything');
  assert.ok(s.latencyMs.p50 > 0 && s.latencyMs.p95 >= s.latencyMs.p50);
  assert.ok(s.callLatencyMs.p95 >= s.callLatencyMs.p50);
  assert.ok(
    s.throughput.share > 0.5 && s.throughput.share <= 1.2,
    `share ${s.throughput.share}: within the limit, give or take the first window`,
  );
  assert.ok(s.throughput.counted <= s.throughput.allowed, 'never more than the limit allows');
  assert.is(s.throughput.counted, s.requests - s.status429.received);
});

test('it writes the report it names at the end: a self-contained page whose marks match the summary', async () => {
  const out = simulatorOut;
  assert.match(out, `report: ${reportFile}\n`);
  const html = readFileSync(reportFile, 'utf8');
  assert.equal(externalReferences(html), []);
  const s = summaryOf(out);
  const [light, dark] = html.match(/<svg\b.*?<\/svg>/gs) ?? [];
  for (const svg of [light!, dark!]) {
    assert.is(marksOf(svg, 'received429').length, s.status429.received, 'one marker per 429 the pipeline received');
    assert.is(marksOf(svg, 'reachedCaller').length, 0);
    assert.is(marksOf(svg, 'refreshes').length, s.tokenRefreshes);
    assert.is(marksOf(svg, 'tokenBands').length, s.tokensExchanged);
    assert.match(marksOf(svg, 'limitLabel')[0]!, 'limit: 60 per 5 s');
  }
  assert.match(html, '<tr><td>synced</td><td>3000 incidents');
  rmSync(dir, { recursive: true, force: true });
});

test('with CYBERHAVEN_BASE_URL and CYBERHAVEN_API_KEY it makes read-only calls to that tenant and never prints the key', async () => {
  const tenant = await serve({ port: 0, keys: [{ key: 'tenant_secret_key_abcdef123456', role: 'read-only' }] });
  try {
    const { code, out, err } = await runDemo({ CYBERHAVEN_BASE_URL: tenant.url, CYBERHAVEN_API_KEY: 'tenant_secret_key_abcdef123456' });
    assert.is(code, 0, `exit ${code}\n${out}\n${err}`);
    assert.not.match(out + err, 'tenant_secret_key');
    assert.not.match(out, 'report:', '--no-report writes none');
    const s = summaryOf(out);
    assert.is(s.mode, 'tenant');
    assert.is(s.incidents, 100);
    assert.is(s.simulator, null);
    const stats = tenant.mock.stats();
    assert.is(stats.forbidden, 0, 'nothing beyond read-only was asked for');
    assert.is(stats.requests, s.requests);
  } finally {
    await tenant.close();
  }
});

test('a rejected key fails with a message that does not hold it', async () => {
  const tenant = await serve({ port: 0 });
  try {
    const { code, out, err } = await runDemo({ CYBERHAVEN_BASE_URL: tenant.url, CYBERHAVEN_API_KEY: 'wrong_key_0123456789' });
    assert.is(code, 1);
    assert.match(out + err, 'API key rejected (401)');
    assert.not.match(out + err, 'wrong_key');
  } finally {
    await tenant.close();
  }
});

test('only one of the two tenant variables is a usage error', async () => {
  const { code, err } = await runDemo({ CYBERHAVEN_BASE_URL: 'https://acme.cyberhaven.io' });
  assert.is(code, 2);
  assert.match(err, 'Set both CYBERHAVEN_BASE_URL and CYBERHAVEN_API_KEY');
  void demoKeys;
});

test.run();
