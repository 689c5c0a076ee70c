import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive, setup, syncAll } from './helpers.js';

test('syncs every incident and its events with zero 429s reaching the caller, through a storm and a token refresh', async () => {
  // 40 s tokens are refreshed in the background at 32 s, while requests flow (the sync takes about 61 s).
  const { clock, server, client, of } = setup({ server: { incidents: 600, latencyMs: { min: 20, max: 80 }, tokenTtlMs: 40_000 } });
  let calls = 0;
  // A 2 s storm of 429s once the sync is under way.
  client.events.on('rate-limit:acquired', () => {
    if (++calls === 30) server.startStorm(2_000);
  });
  const { incidents, events, errors } = await drive(clock, syncAll(client, { batch: 20 }));

  assert.equal(errors, []);
  assert.is(incidents.length, 600);
  assert.is(new Set(incidents).size, 600, 'each incident once');
  const stats = server.stats();
  assert.ok(stats.rateLimitedBy.storm >= 1, `the storm answered 429 (${JSON.stringify(stats.rateLimitedBy)})`);
  assert.is(stats.rateLimitedBy.rate, 0, 'the client kept to the per-key limit');
  assert.is(stats.rateLimitedBy.concurrency, 0, 'and to the concurrency cap');
  assert.ok(of('retry:scheduled').length >= 1, 'the 429s were retried');
  assert.ok(stats.tokenExchanges >= 2, `the token was refreshed (${stats.tokenExchanges} exchanges)`);
  assert.is(stats.unauthorized.expired, 0, 'no call went out with an expired token');
  assert.ok(events.size > 600, `events fetched: ${events.size}`);
  await client.close();
});

test.run();
