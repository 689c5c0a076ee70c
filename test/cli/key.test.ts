import { demoKeys } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasScript, inTerminal, type Result, sluice, terminal, withMock } from './helpers.js';

const ADMIN = demoKeys[0]!.key;
const tty = hasScript ? test : test.skip;
if (!hasScript) console.warn('  util-linux `script` is missing: the pseudo-terminal tests are skipped');

const leaks = (key: string, ...results: Array<Result | string>) => {
  for (const r of results) {
    const text = typeof r === 'string' ? r : r.stdout + r.stderr;
    assert.not.ok(text.includes(key), `the key is in the output:\n${text}`);
  }
};

test('refuses a key given as an argument, in any spelling, without repeating it', async () => {
  const spellings = [
    ['--api-key', 'sk_live_ARGUMENT_1'],
    ['--key=sk_live_ARGUMENT_1'],
    ['--token', 'sk_live_ARGUMENT_1'],
    ['--API_KEY=sk_live_ARGUMENT_1'],
  ];
  const results = await Promise.all(
    spellings.map((args) => sluice(['GET', '/v2/x', ...args], { env: { SLUICE_BASE_URL: 'http://127.0.0.1:9' } })),
  );
  for (const r of results) {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /is not accepted: a key on the command line shows in process lists \(ps\) and shell history/);
    assert.match(r.stderr, /SLUICE_API_KEY/);
    leaks('sk_live_ARGUMENT_1', r);
  }
});

test('does not repeat a stray argument either: it may be a key typed in the wrong place', async () => {
  const r = await sluice(['GET', '/v2/x', 'sk_live_STRAY_0123456789'], { env: { SLUICE_BASE_URL: 'http://127.0.0.1:9' } });
  assert.is(r.code, 2);
  leaks('sk_live_STRAY_0123456789', r);
});

test('reads the key from the first line of standard input with --key-stdin', async () => {
  await withMock({}, async ({ url, mock }) => {
    const r = await sluice(['GET', '/v2/admin/api-keys', '--key-stdin'], {
      env: { SLUICE_BASE_URL: url },
      input: `${ADMIN}\nignored second line\n`,
    });
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).type, 'api_keys');
    assert.is(mock.stats().perKey['demo-admin']?.tokenExchanges, 1);
    leaks(ADMIN, r);
  });
});

test('without a key and without a terminal, says how to give one', async () => {
  const r = await sluice(['GET', '/v2/x'], { env: { SLUICE_BASE_URL: 'http://127.0.0.1:9' }, input: `${ADMIN}\n` });
  assert.is(r.code, 2);
  assert.match(r.stderr, /no API key: set SLUICE_API_KEY, or pipe it in with --key-stdin/);
});

test('the key is in no output: not the body, not --verbose, not an error, not a rejected key', async () => {
  await withMock({}, async ({ url, mock }) => {
    // A key that is also a word of the answer (an incident id): the body shows it redacted.
    const key = 'inc_003000';
    mock.addKey({ key, role: 'admin', id: 'echoed' });
    const ok = await sluice(['POST', '/v2/incidents/list', '--verbose', '--data', '{"page_request":{"size":1}}'], {
      env: { SLUICE_BASE_URL: url, SLUICE_API_KEY: key },
    });
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /"id":"\[redacted\]"/);
    const unknown = 'sk_live_NOT_A_KEY_0123456789';
    const [notFound, rejected, piped] = await Promise.all([
      sluice(['GET', '/v2/nope', '--verbose'], { env: { SLUICE_BASE_URL: url, SLUICE_API_KEY: ADMIN } }),
      sluice(['GET', '/v2/event-details?ids=evt_1', '--verbose'], { env: { SLUICE_BASE_URL: url, SLUICE_API_KEY: unknown } }),
      sluice(['GET', '/v2/nope', '--key-stdin', '-v'], { env: { SLUICE_BASE_URL: url }, input: `${unknown}\n` }),
    ]);
    assert.is(notFound.code, 4);
    assert.is(rejected.code, 3, rejected.stderr);
    assert.is(piped.code, 3, piped.stderr);
    leaks(key, ok, notFound);
    leaks(ADMIN, notFound);
    leaks(unknown, rejected, piped);
  });
});

tty('on a terminal, asks for the key at a hidden prompt: what is typed is not echoed', async () => {
  await withMock({}, async ({ url }) => {
    const term = await inTerminal(['GET', '/v2/admin/api-keys'], { SLUICE_BASE_URL: url });
    await term.printed(`API key for ${url}: `);
    term.type(`${ADMIN}\r`);
    assert.is(await term.exit(), 0, term.output);
    assert.match(term.output, /\n {2}"type": "api_keys",/, 'JSON is indented on a terminal');
    leaks(ADMIN, term.output);
  });
});

tty('backspace edits the hidden line, and Ctrl-C at the prompt exits 130', async () => {
  await withMock({}, async ({ url }) => {
    const term = await inTerminal(['GET', '/v2/admin/api-keys'], { SLUICE_BASE_URL: url });
    await term.printed('API key for');
    term.type(`${ADMIN}xy\x7f\x7f\r`);
    assert.is(await term.exit(), 0, term.output);
    const cancelled = await inTerminal(['GET', '/v2/admin/api-keys'], { SLUICE_BASE_URL: url });
    await cancelled.printed('API key for');
    cancelled.type('sk_half_typed\x03');
    assert.is(await cancelled.exit(), 130, cancelled.output);
    assert.match(cancelled.output, /interrupted/);
    leaks('sk_half_typed', cancelled.output);
  });
});

tty('the terminal test would see an echo: a program that leaves echo on shows what is typed', async () => {
  const term = terminal('head -n 1 > /dev/null; echo done');
  await new Promise((wake) => setTimeout(wake, 200));
  term.type('typed_in_the_clear\r');
  await term.printed('done');
  assert.is(await term.exit(), 0);
  assert.ok(term.output.includes('typed_in_the_clear'), term.output);
});

test.run();
