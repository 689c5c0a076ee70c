import { type CliIo, exitCodeFor, exitCodes, parseArgs, run, UsageError } from '@sluice/cli';
import { ClosedError, InvalidApiKeyError, PaginationError, SluiceError, TokenExchangeError } from '@sluice/cyberhaven';
import { QueueTimeoutError } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('a method and a path, with flags anywhere, as `--flag value` or `--flag=value`', () => {
  assert.equal(parseArgs(['-v', 'post', '/v2/incidents/list', '--data={"a":1}', '--paginate', '--retries', '2', '--max-wait=30']), {
    kind: 'request',
    method: 'POST',
    path: '/v2/incidents/list',
    data: '{"a":1}',
    paginate: true,
    verbose: true,
    baseUrl: undefined,
    keyStdin: false,
    retries: 2,
    maxWaitMs: 30_000,
    report: undefined,
  });
  assert.is((parseArgs(['GET', '--', '-odd-path']) as { path: string }).path, '-odd-path');
});

test('help and mock', () => {
  assert.equal(parseArgs(['--help']), { kind: 'help' });
  assert.equal(parseArgs(['help']), { kind: 'help' });
  assert.equal(parseArgs(['mock']), { kind: 'mock', port: 8787, host: '127.0.0.1' });
  assert.equal(parseArgs(['mock', '--port', '0', '--host=::1']), { kind: 'mock', port: 0, host: '::1' });
});

test('usage errors name the problem', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /expected a method and a path/],
    [['GET', '/a', '--retries', '-1'], /--retries must be an integer from 0 to 10/],
    [['GET', '/a', '--data'], /--data needs a value/],
    [['GET', '/a', '--paginate=yes'], /--paginate takes no value/],
    [['GET', '/a', '--port', '80'], /--port is an option of `sluice mock`/],
    [['mock', '--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['G3T', '/a'], /must be an HTTP method/],
    [['GET', '/a', '--secret', 'x'], /--secret is not accepted/],
    [['GET', '/a', '--access-token=x'], /--access-token is not accepted/],
  ];
  for (const [argv, message] of cases)
    assert.throws(
      () => parseArgs(argv),
      (e: Error) => e instanceof UsageError && message.test(e.message),
    );
});

test("exit codes follow the token exchange's and the paginator's status, and the queue's timeout", () => {
  const url = 'https://acme.example/v2/x';
  assert.is(exitCodeFor(new InvalidApiKeyError('API key rejected (401)', url, 'k', 401)), exitCodes.auth);
  assert.is(exitCodeFor(new TokenExchangeError('failed', url, 'k', 429)), exitCodes.rateLimited);
  assert.is(exitCodeFor(new TokenExchangeError('failed', url, 'k', 502)), exitCodes.server);
  assert.is(exitCodeFor(new TokenExchangeError('failed', url, 'k', 400)), exitCodes.client);
  assert.is(exitCodeFor(new TokenExchangeError('failed', url, 'k', undefined)), exitCodes.network);
  assert.is(exitCodeFor(new QueueTimeoutError('k', '/v2/x', new Request(url))), exitCodes.rateLimited);
  assert.is(exitCodeFor(new PaginationError('bad page', url, 2)), exitCodes.server);
  assert.is(exitCodeFor(new PaginationError('list call answered 404', url, 1, 404)), exitCodes.client);
  assert.is(exitCodeFor(new ClosedError()), exitCodes.internal);
  assert.is(exitCodeFor(new SluiceError('ERR_SOMETHING_NEW', 'new')), exitCodes.internal);
  assert.is(exitCodeFor(new TypeError('a bug')), exitCodes.internal);
});

/** `run` in-process, with the outputs collected. */
async function runHere(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    readFile: async () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    },
    readStdinLine: async () => 'unused',
    fetch: async () => {
      throw new Error('nothing is sent for a usage error');
    },
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

test('every usage error exits 2 with its reason, before any request and without quoting a secret', async () => {
  const env = { SLUICE_BASE_URL: 'http://127.0.0.1:9', SLUICE_API_KEY: 'sk_live_ENV_0123456789' };
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['GET'], env, /expected a method and a path/],
    [['POST', '/v2/incidents/list', '--data', '{"api_key":"sk_live_IN_DATA"'], env, /^sluice: --data is not valid JSON\n/],
    [['POST', '/v2/incidents/list', '--data', '@missing.json'], env, /cannot read @missing.json: ENOENT/],
    [['GET', '/v2/x', '--data', '{}'], env, /--data needs a method with a body, not GET/],
    [['GET', '/v2/x', '--paginate'], env, /--paginate walks POST/],
    [['POST', '/v2/x', '--paginate', '--data', '[1]'], env, /--paginate needs --data to be a JSON object/],
    [['GET', '/v2/x'], { ...env, SLUICE_BASE_URL: 'http://api.example.com' }, /API key or token over http/],
    [['GET', '/v2/x'], { ...env, SLUICE_BASE_URL: 'not a url' }, /the base URL is not a URL/],
    [['GET', 'https://elsewhere.example/v2/x'], env, /the path must be on http:\/\/127\.0\.0\.1:9/],
    [['GET', '/v2/x', '--token', 'sk_live_ARG'], env, /--token is not accepted/],
    [['GET', '/v2/x', '--API_KEY=sk_live_ARG'], env, /--API_KEY is not accepted/],
    [['GET', '/v2/x'], { SLUICE_BASE_URL: env.SLUICE_BASE_URL }, /no API key/],
  ];
  for (const [argv, vars, message] of cases) {
    const r = await runHere(argv, vars);
    assert.is(r.code, exitCodes.usage, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /Run `sluice --help` for usage\.\n$/);
    assert.is(r.stdout, '');
    for (const secret of ['sk_live_IN_DATA', 'sk_live_ARG', 'sk_live_ENV_0123456789']) assert.not.ok(r.stderr.includes(secret), r.stderr);
  }
});

test.run();
