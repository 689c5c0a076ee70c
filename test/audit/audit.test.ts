import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { compose, isSluiceError, SluiceError } from '@sluice/core';
import { demoKeys } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Collector, createCollector, redact } from './collector.js';

const root = resolve(import.meta.dirname, '../..');
const global = (globalThis as Record<symbol, unknown>)[Symbol.for('sluice.audit')] as Collector | undefined;
const PLANTED = 'sk_live_PLANTED_0123456789abcdef';

test('the unit run is audited: test/unit.mjs loads the preload', () => {
  assert.ok(global, 'no collector: run through `node --import tsx test/unit.mjs`');
});

test('errors are captured when constructed, sluice error subclasses defined after the preload included', () => {
  class PlantedError extends SluiceError {
    override name = 'PlantedError';
  }
  const before = global?.stats().errors ?? 0;
  const error = new PlantedError('ERR_SLUICE_PLANTED', 'planted');
  const plain = new TypeError('plain');
  assert.is(global?.stats().errors, before + 2);
  assert.ok(error instanceof PlantedError && error instanceof SluiceError && error instanceof Error);
  assert.ok(plain instanceof TypeError && plain instanceof Error);
  assert.ok(isSluiceError(error));
  assert.is(plain.constructor, TypeError);
  const [first, frame] = (error.stack ?? '').split('\n');
  assert.is(first, 'PlantedError: planted');
  assert.match(frame ?? '', /test\/audit\/audit\.test\.ts/, 'the stack starts where the error was made');
});

test('events on composed pipelines and tokens in response bodies reach the collector', async () => {
  const before = global?.stats().events ?? 0;
  const api = compose([]);
  api.events.emit('rate-limit:exceeded', { keyId: 'k', retryAfterMs: 1, method: 'GET', url: 'https://a.example/' });
  assert.is(global?.stats().events, before + 1);
  await api.close();
  new Response(JSON.stringify({ access_token: 'tok-audit-self-test-1', expires_in: 900 }));
  new Headers({ authorization: 'Bearer tok-audit-self-test-2' });
  assert.ok(global?.knows('tok-audit-self-test-1'));
  assert.ok(global?.knows('tok-audit-self-test-2'));
  assert.ok(global?.knows(demoKeys[0]?.key as string), 'the simulator’s seeded keys');
});

test('a secret in an event, a sluice error or the output (even split across writes) is reported', () => {
  const c = createCollector();
  c.secret(PLANTED, 'planted');
  c.setWhere('test/x.test.ts');
  c.event('auth:token-acquired', { keyId: PLANTED });
  c.error(new SluiceError('ERR_SLUICE_PLANTED', `failed with ${PLANTED}`));
  c.output('stdout', `key ${PLANTED.slice(0, 10)}`);
  c.output('stdout', `${PLANTED.slice(10)}\n`);
  c.event('auth:token-acquired', { keyId: 'k_123' });
  const surfaces = c.scan().map((leak) => `${leak.surface} (${leak.where.split(',')[0]})`);
  assert.equal(surfaces.sort(), [
    'error SluiceError JSON (test/x.test.ts)',
    'error SluiceError message (test/x.test.ts)',
    'error SluiceError stack (test/x.test.ts)',
    'event auth:token-acquired (test/x.test.ts)',
    'stdout (test/x.test.ts)',
  ]);
});

test('a secret counts in the test file that handled it, and everywhere when the preload learnt it', () => {
  const c = createCollector();
  c.secret('sk_live_PRELOADED_0123456789', 'preloaded key');
  c.setWhere('test/a.test.ts');
  c.secret('__proto', 'token response');
  c.event('x:a', { url: 'https://api.example/_mock/__proto' });
  c.setWhere('test/b.test.ts');
  // B never handled `__proto`: its 404 for `/_mock/__proto__` is a coincidence, not a leak. The preloaded key is checked.
  c.error(new SluiceError('ERR_SLUICE_PLANTED', 'not found: /_mock/__proto__ with sk_live_PRELOADED_0123456789'));
  const found = c.scan().map((leak) => `${leak.secretSource} in ${leak.surface} (${leak.where.split(',')[0]})`);
  assert.equal(found.sort(), [
    'preloaded key in error SluiceError JSON (test/b.test.ts)',
    'preloaded key in error SluiceError message (test/b.test.ts)',
    'preloaded key in error SluiceError stack (test/b.test.ts)',
    'token response in event x:a (test/a.test.ts)',
  ]);
});

test('errors a test makes itself are fixtures; plain values are not secrets; reports redact', () => {
  const c = createCollector();
  c.secret(PLANTED, 'planted');
  for (const plain of ['t', 'tok', 'expired', 'opaque', '12345']) c.secret(plain, 'too plain');
  c.error(new TypeError(`connect failed with ${PLANTED}`));
  c.event('x', { reason: 'expired', token: 'opaque' });
  assert.equal(c.scan(), []);
  assert.is(c.stats().secrets, 1);
  assert.not.ok(redact(PLANTED).includes(PLANTED.slice(0, 8)));
  assert.is(redact(PLANTED), 'sk_l…ef (32 chars)');
});

test('a run with a planted leak fails, and says what leaked, redacted, and where', () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/audit/preload.ts', 'test/audit/fixtures/leak.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    timeout: 30_000,
  });
  assert.is(child.status, 1, child.stdout + child.stderr);
  const report = child.stdout.slice(child.stdout.indexOf('── secret audit'));
  const leaks = report.split('\n').filter((line) => line.startsWith('  leak: '));
  assert.ok(
    leaks.some((l) => /in event bus:listener-error/.test(l) && /from token response/.test(l)),
    report,
  );
  assert.ok(
    leaks.some((l) => /in error SluiceError message/.test(l) && /fixtures\/leak\.ts/.test(l)),
    report,
  );
  assert.ok(
    leaks.some((l) => /in stdout/.test(l) && l.includes(redact(demoKeys[1]?.key as string))),
    report,
  );
  for (const spec of demoKeys) assert.not.ok(report.includes(spec.key), 'the report names no secret in full');
  assert.match(report, /Total:\s+1\n\s+Passed:\s+0/);
});

test.run();
