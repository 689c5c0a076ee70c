import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, parseArgs, run, UsageError } from '@sluice/cli';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadReport, REPORT_MISSING } from '../../packages/cli/src/report.js';
import { rejects } from '../helpers/index.js';
import { externalReferences, marksOf } from '../report/svg.js';
import { sluice, withMock } from './helpers.js';

const env = { SLUICE_BASE_URL: 'http://127.0.0.1:8787', SLUICE_API_KEY: demoKeys[0]!.key };
const list = ['POST', '/v2/incidents/list', '--data', '{"page_request":{"size":500}}', '--paginate'];

/** `run` in-process over the in-process simulator, with what it writes kept. */
async function runHere(argv: string[], options: { writeFile?: boolean } = {}) {
  const server = createMockServer();
  const files = new Map<string, string>();
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    readFile: async () => '',
    readStdinLine: async () => '',
    fetch: (request) => server.fetch(request),
    ...(options.writeFile === false ? {} : { writeFile: async (path: string, text: string) => void files.set(path, text) }),
  };
  const code = await run(argv, io);
  await server.close();
  return { code, stdout, stderr, files, stats: server.stats() };
}

test('--report FILE on a paginated run writes a timeline of it, loading nothing, and says where', async () => {
  const r = await runHere([...list, '--report', 'run.html']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.split('\n').length - 1, 3000, 'the items still go to stdout');
  assert.is(r.stderr, 'sluice: report written to run.html\n');
  const html = r.files.get('run.html')!;
  assert.equal(externalReferences(html), []);
  assert.match(html, '<tr><td>items</td><td>3000</td></tr>');
  assert.match(html, `<tr><td>requests sent</td><td>${r.stats.requests}</td></tr>`, 'every request the server saw');
  const [light] = html.match(/<svg\b.*?<\/svg>/gs)!;
  assert.match(marksOf(light!, 'limitLabel')[0]!, 'limit: 60 per 1 min', "the preset's rule");
  assert.is(marksOf(light!, 'exchanges').length, 1, 'one token exchange');
  assert.not.match(html, env.SLUICE_API_KEY);
});

test('a call that fails still writes its report, and exits with the failure', async () => {
  const r = await runHere(['GET', '/v2/no-such-thing', '--report', 'failed.html']);
  assert.is(r.code, 4);
  assert.match(r.stderr, 'sluice: report written to failed.html');
  assert.match(r.stderr, '404 not found');
  assert.ok(r.files.has('failed.html'));
});

test('--report without a file system to write to is a usage error before any request', async () => {
  const r = await runHere([...list, '--report', 'x.html'], { writeFile: false });
  assert.is(r.code, 2);
  assert.match(r.stderr, '--report needs a file system');
  assert.is(r.stats.requests, 0);
});

test('a missing @sluice/report is a usage error that says how to install it', async () => {
  const error = await rejects(
    loadReport(() => Promise.reject(new Error("Cannot find package '@sluice/report'"))),
    UsageError,
  );
  assert.is((error as Error).message, REPORT_MISSING);
  assert.match(REPORT_MISSING, 'npx -p @sluice/cli -p @sluice/report');
  assert.is(parseArgs(['GET', '/v2/x', '--report', 'r.html']).kind, 'request');
  assert.is((parseArgs(['GET', '/v2/x', '--report=r.html']) as { report?: string }).report, 'r.html');
});

test('the sluice command writes the report file over loopback HTTP', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-report-')), 'run.html');
  await withMock({}, async ({ url }) => {
    const r = await sluice([...list, '--report', file], { env: { ...env, SLUICE_BASE_URL: url } });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, `report written to ${file}`);
  });
  assert.match(readFileSync(file, 'utf8'), '<tr><td>items</td><td>3000</td></tr>');
});

test.run();
