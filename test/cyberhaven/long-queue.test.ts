import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { setup } from './helpers.js';

test('sixteen minutes of queued calls outlive the 15-minute token: none is sent expired, one exchange per token life', async () => {
  const { clock, server, client } = setup();
  // 950 calls fill 16 minutes of the 60-a-minute limit, longer than a token lives.
  const calls = Array.from({ length: 950 }, (_, i) => track(client.fetch(`https://acme.cyberhaven.io/v2/event-details?ids=e-${i}`)));
  await clock.advance(18 * 60_000);
  assert.is(calls.filter((c) => c.settled()).length, calls.length, 'every call settled');
  const statuses = new Set(await Promise.all(calls.map(async (c) => (await c.promise).status)));
  assert.equal(statuses, new Set([200]));
  const stats = server.stats();
  assert.is(stats.unauthorized.expired, 0, 'no token reached the simulator after its expiry');
  assert.is(stats.rateLimited, 0, 'no 429');
  assert.is(stats.tokenExchanges, 2, 'one exchange per token life');
  assert.is(stats.requests, 952, 'no replays');
  await client.close();
});

test.run();
