import { createTestClock } from '@sluice/core/testing';
import { createMockServer, defaults, type MockServerOptions } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('validates options at creation, naming the option', () => {
  const bad: [MockServerOptions, RegExp][] = [
    [{ timeScale: 0 }, /`timeScale` must be a positive number/],
    [{ limit: 1.5 }, /`limit` must be a positive integer/],
    [{ windowMs: -1 }, /`windowMs`/],
    [{ concurrency: 0 }, /`concurrency`/],
    [{ algorithm: 'leaky' as never }, /`algorithm` must be one of sliding-log, fixed-window, token-bucket/],
    [{ concurrencyScope: 'host' as never }, /`concurrencyScope`/],
    [{ latencyMs: -1 }, /`latencyMs`/],
    [{ latencyMs: { min: 5, max: 1 } }, /`latencyMs.max`/],
    [{ faults: { serverErrorRate: 1.5 } }, /`faults.serverErrorRate` must be between 0 and 1/],
    [{ faults: { storm: { everyMs: 0, durationMs: 0 } } }, /`faults.storm.everyMs`/],
    [{ controlPath: '/v2/mock' }, /`controlPath`/],
    [{ incidents: -1 }, /`incidents`/],
  ];
  for (const [options, message] of bad) assert.throws(() => createMockServer(options), message, JSON.stringify(options));
});

test('does not write into the options it is given, and ignores undefined values', () => {
  const options: MockServerOptions = { limit: undefined, faults: { serverErrorRate: 0.1 } };
  const snapshot = JSON.stringify(options);
  const server = createMockServer(options);
  server.setFaults({ resetRate: 0.2 });
  assert.is(JSON.stringify(options), snapshot);
  assert.ok(Object.isFrozen(defaults));
});

test('starts no timer at construction or while answering without latency', async () => {
  const clock = createTestClock();
  const server = createMockServer({ clock });
  assert.is(clock.pending, 0);
  await server.fetch('https://x.test/v2/auth/token/access', { method: 'POST', body: '{"api_key":"mock_admin_key_0123456789"}' });
  assert.is(clock.pending, 0);
});

test('starts its time and its keys at first use, not at construction (Worker global scope)', async () => {
  const clock = createTestClock();
  let draws = 0;
  const server = createMockServer({
    clock,
    timeScale: 10,
    random: () => {
      draws++;
      return 0.5;
    },
  });
  await clock.advance(400 * 86_400_000);
  const response = await server.fetch('https://x.test/v2/auth/token/access', {
    method: 'POST',
    body: '{"api_key":"mock_admin_key_0123456789"}',
  });
  assert.is(response.status, 200, 'the demo key is a year from first use, not from construction');
  assert.is(((await response.json()) as { expires_in: number }).expires_in, 90);
  assert.is(draws, 0);
});

test('keys: [] starts with no key, and the default is the three demo keys', () => {
  assert.is(createMockServer({ keys: [] }).keys().length, 0);
  assert.equal(
    createMockServer()
      .keys()
      .map((k) => k.id),
    ['demo-admin', 'demo-read-only', 'demo-expired'],
  );
});

test.run();
