import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoKeys, type MockServer } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanEnv, cliFile, isTokenExchange, root, sluice, withHookedMock, withMock } from './helpers.js';

const ADMIN = demoKeys[0]!.key;
const env = (url: string, key = ADMIN) => ({ SLUICE_BASE_URL: url, SLUICE_API_KEY: key });

test('GET prints the JSON body, compact when piped, and exits 0', async () => {
  await withMock({}, async ({ url }) => {
    const r = await sluice(['GET', '/v2/event-details?ids=evt_003000_1,evt_missing'], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    assert.is(r.stdout.split('\n').length, 2, 'one line and its newline');
    const body = JSON.parse(r.stdout);
    assert.equal(
      body.resources.map((e: { id: string }) => e.id),
      ['evt_003000_1'],
    );
    assert.equal(body.errors[0].id, 'evt_missing');
  });
});

test('POST sends --data as the JSON body', async () => {
  await withMock({}, async ({ url }) => {
    const data = JSON.stringify({ filter: { policy_severities: ['high'] }, page_request: { size: 3 } });
    const r = await sluice(['POST', '/v2/incidents/list', '--data', data], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    const page = JSON.parse(r.stdout);
    assert.is(page.resources.length, 3);
    assert.ok(page.resources.every((i: { policy: { severity: string } }) => i.policy.severity === 'high'));
  });
});

test('--data @file reads the body from a file, and the base URL can come from --base-url', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-data-')), 'body.json');
  writeFileSync(file, '{ "page_request": { "size": 2, "sort_by": "trigger_time asc" } }\n');
  await withMock({}, async ({ url }) => {
    const r = await sluice(['POST', '/v2/incidents/list', '-d', `@${file}`, `--base-url=${url}`], { env: { SLUICE_API_KEY: ADMIN } });
    assert.is(r.code, 0, r.stderr);
    assert.equal(
      JSON.parse(r.stdout).resources.map((i: { id: string }) => i.id),
      ['inc_000001', 'inc_000002'],
    );
  });
});

test('--paginate prints every item of every page as one JSON line', async () => {
  await withMock({ incidents: 120 }, async ({ url, mock }) => {
    const r = await sluice(['POST', '/v2/incidents/list', '--paginate', '--data', '{"page_request":{"size":50}}'], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.is(lines.length, 120);
    const ids = lines.map((line) => JSON.parse(line).id);
    assert.is(new Set(ids).size, 120, 'each incident once');
    assert.equal(mock.stats().requests, 4, 'one exchange and three pages');
  });
});

test("--verbose prints each request and the pipeline's events to stderr, and stdout stays the body", async () => {
  await withMock({}, async ({ url }) => {
    const r = await sluice(['GET', '/v2/event-details?ids=evt_003000_1', '--verbose'], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).resources, 'stdout is the body alone');
    const lines = r.stderr.trimEnd().split('\n');
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    assert.ok(at('* auth:token-requested') >= 0, r.stderr);
    assert.ok(at(`> POST ${url}/v2/auth/token/access`) > at('* auth:token-requested'));
    assert.ok(at(`< 200 POST ${url}/v2/auth/token/access`) > 0);
    assert.match(r.stderr, /\* auth:token-acquired keyId=[0-9a-f]{12} reason=initial expiresAt=\d{4}-\d\d-\d\dT/);
    assert.ok(at(`< 200 GET ${url}/v2/event-details`) > at('* auth:token-acquired'));
    assert.not.match(r.stderr, /ids=/, 'URLs without their query');
  });
});

test('--verbose shows the 429, the pause and the retry', async () => {
  let stormed = false;
  // A storm of one second, once the token is in hand: the call is answered 429, waits, and is retried.
  const storm = (request: Request, mock: MockServer) => {
    if (!isTokenExchange(request) && !stormed) {
      stormed = true;
      mock.startStorm(1_000);
    }
  };
  await withHookedMock({}, storm, async ({ url, mock }) => {
    const r = await sluice(['GET', '/v2/event-details?ids=evt_003000_1', '--verbose'], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    assert.is(mock.stats().rateLimited, 1);
    assert.match(r.stderr, /< 429 GET /);
    assert.match(r.stderr, /\* retry:scheduled method=GET url=\S+ attempt=2 delayMs=\d+ reason=rate-limited/);
    assert.match(r.stderr, /\* rate-limit:paused key=[0-9a-f]{12} until=\S+ delayMs=\d+ reason=429/);
    assert.ok(JSON.parse(r.stdout).resources);
  });
});

test('a body that is not JSON is printed as it came', async () => {
  await withMock({}, async ({ url }) => {
    const r = await sluice(['GET', '/_mock/faults'], { env: env(url) });
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), {});
  });
});

test('--help lists every exit code', async () => {
  const r = await sluice(['--help']);
  assert.is(r.code, 0);
  const codes = [...r.stdout.matchAll(/^ {2}(\d+) +\S/gm)].map((m) => Number(m[1]));
  assert.equal(codes, [0, 1, 2, 3, 4, 5, 6, 7, 130]);
  assert.match(r.stdout, /SLUICE_API_KEY/);
});

test('`sluice mock` starts the simulator, prints how to call it, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [await cliFile(), 'mock', '--port', '0'], { cwd: root, env: cleanEnv() });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  try {
    const until = Date.now() + 10_000;
    while (!output.includes('Ctrl-C')) {
      if (Date.now() > until) throw new Error(`no banner: ${output}`);
      await new Promise((wake) => setTimeout(wake, 20));
    }
    const exported = /export (SLUICE_BASE_URL=\S+) (SLUICE_API_KEY=\S+)/.exec(output);
    assert.ok(exported, output);
    const vars = Object.fromEntries(exported.slice(1).map((pair) => pair.split('=') as [string, string]));
    const r = await sluice(['GET', '/v2/event-details?ids=evt_003000_1'], { env: vars });
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).resources[0].id, 'evt_003000_1');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
});

test.run();
