import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCliArgs } from '../../packages/mock-server/src/cli-args.js';

test('parses every flag into serve options', () => {
  const args = parseCliArgs([
    '--port=0',
    '--host',
    '::1',
    '--time-scale',
    '10',
    '--latency',
    '20-80',
    '--algorithm',
    'token-bucket',
    '--limit',
    '30',
    '--window',
    '30000',
    '--concurrency',
    '2',
    '--concurrency-scope',
    'route',
    '--count-token-exchange',
    'false',
    '--keys',
    'admin:k1,read-only:k2:-1',
    '--seed',
    '9',
    '--incidents',
    '100',
    '--error-rate',
    '0.1',
    '--reset-rate',
    '0.01',
    '--storm',
    '30000:5000',
    '--token-latency',
    '500',
    '--malformed-token-rate',
    '0.2',
  ]);
  assert.equal(args, {
    help: false,
    port: 0,
    host: '::1',
    customKeys: true,
    options: {
      timeScale: 10,
      latencyMs: { min: 20, max: 80 },
      algorithm: 'token-bucket',
      limit: 30,
      windowMs: 30_000,
      concurrency: 2,
      concurrencyScope: 'route',
      countTokenExchange: false,
      keys: [
        { role: 'admin', key: 'k1', id: 'cli-key-1' },
        { role: 'read-only', key: 'k2', id: 'cli-key-2', validForMs: -86_400_000 },
      ],
      seed: 9,
      incidents: 100,
      faults: {
        serverErrorRate: 0.1,
        resetRate: 0.01,
        storm: { everyMs: 30_000, durationMs: 5_000 },
        tokenLatencyMs: 500,
        malformedTokenRate: 0.2,
      },
    },
  });
});

test('explains bad flags', () => {
  assert.throws(() => parseCliArgs(['--port']), /--port needs a value/);
  assert.throws(() => parseCliArgs(['--limit', 'many']), /--limit expects a number/);
  assert.throws(() => parseCliArgs(['--keys', 'admin']), /role:key/);
  assert.throws(() => parseCliArgs(['--count-token-exchange', 'yes']), /true or false/);
  assert.ok(parseCliArgs(['--help']).help);
});

test.run();
