import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { demoKeys } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// Subpath imports need a tsconfig `paths` entry for '@sluice/mock-server/node'; until then, the source.
import { serve } from '../../packages/mock-server/src/node.js';
import { rejects } from '../helpers/index.js';
import { ADMIN_KEY } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');

test('serve() answers over loopback HTTP on a free port, then closes', async () => {
  const served = await serve({ port: 0 });
  try {
    assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const exchange = await fetch(`${served.url}/v2/auth/token/access`, { method: 'POST', body: JSON.stringify({ api_key: ADMIN_KEY }) });
    assert.is(exchange.status, 200);
    assert.ok(exchange.headers.get('x-request-id'));
    assert.is(exchange.headers.get('x-ratelimit-remaining'), '59');
    const { access_token } = (await exchange.json()) as { access_token: string };
    const page = await fetch(`${served.url}/v2/incidents/list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ page_request: { size: 1000 } }),
    });
    assert.is(page.status, 200);
    assert.is(((await page.json()) as { size: number }).size, 1000);
    const wrong = await fetch(`${served.url}/v2/incidents/list`);
    assert.equal([wrong.status, wrong.headers.get('allow')], [405, 'POST']);
    await wrong.arrayBuffer();
  } finally {
    await served.close();
  }
  await rejects(fetch(`${served.url}/_mock/stats`));
});

test('serve() resets the connection on a reset fault and answers 413 to a streamed oversize body', async () => {
  const served = await serve({ port: 0, maxBodyBytes: 1024 });
  try {
    const big = new Uint8Array(2_000_000).fill(120);
    const tooLarge = await fetch(`${served.url}/v2/auth/token/access`, { method: 'POST', body: big });
    assert.is(tooLarge.status, 413);
    await tooLarge.arrayBuffer();
    served.mock.setFaults({ resetRate: 1 });
    const error = await rejects(fetch(`${served.url}/v2/auth/token/access`, { method: 'POST', body: '{}' }), TypeError);
    assert.is((error as Error).message, 'fetch failed');
    assert.is(served.mock.stats().faults.resets, 1);
  } finally {
    await served.close();
  }
});

test('the sluice-mock CLI prints its URL and the demo keys, answers, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/mock-server/src/cli.ts', '--port', '0', '--time-scale', '10'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const url = await new Promise<string>((done, fail) => {
      const guard = setTimeout(() => fail(new Error(`no URL printed: ${output}`)), 20_000);
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match && output.includes('Ctrl-C')) {
          clearTimeout(guard);
          done(match[1] as string);
        }
      });
      child.on('exit', () => fail(new Error(`exited early: ${output}`)));
    });
    for (const key of demoKeys) assert.ok(output.includes(key.key), `prints ${key.id}`);
    assert.match(output, /fake/);
    const exchange = await fetch(`${url}/v2/auth/token/access`, { method: 'POST', body: JSON.stringify({ api_key: ADMIN_KEY }) });
    assert.equal(((await exchange.json()) as { expires_in: number }).expires_in, 90);
    const stats = (await (await fetch(`${url}/_mock/stats`)).json()) as { tokenExchanges: number };
    assert.is(stats.tokenExchanges, 1);
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
});

test('the CLI rejects unknown flags with exit code 2', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/mock-server/src/cli.ts', '--frobnicate'], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  assert.is(code, 2);
  assert.match(stderr, /unknown option --frobnicate/);
});

test.run();
