import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { API, harness } from './helpers.js';

test('a request that waited in a queue past its token’s life is sent with the current token, not replayed after a 401', async () => {
  // 100 calls at 10 a minute queue for ten minutes, twice a 300 s token's life.
  const h = harness({ lifetimeS: 300, after: [rateLimit({ rules: [{ limit: 10, windowMs: 60_000 }] })] });
  const calls = Array.from({ length: 100 }, (_, i) => h.fetch(`${API}/v2/items/${i}`));
  const tracked = calls.map(track);
  await h.clock.advance(11 * 60_000);
  assert.is(tracked.filter((t) => t.settled()).length, 100, 'every call settled within eleven minutes');
  const statuses = (await Promise.all(calls)).map((r) => r.status);
  assert.equal(new Set(statuses), new Set([200]));
  assert.is(h.api.expiredUses, 0, 'no call reached the server with an expired token');
  assert.is(h.apiCalls().length, 100, 'no call needed a 401 replay');
  assert.ok(h.api.exchanges >= 3 && h.api.exchanges <= 4, `one exchange per token life, got ${h.api.exchanges}`);
});

test('the send-time check leaves a still-valid token alone', async () => {
  const h = harness({ after: [rateLimit({ rules: [{ limit: 10, windowMs: 60_000 }] })] });
  const calls = Array.from({ length: 20 }, (_, i) => h.fetch(`${API}/v2/items/${i}`));
  await h.clock.advance(2 * 60_000);
  await Promise.all(calls);
  assert.is(h.api.exchanges, 1);
  assert.equal(new Set(h.apiCalls().map((c) => c.headers.get('authorization'))), new Set(['Bearer tok-1']));
});

test.run();
