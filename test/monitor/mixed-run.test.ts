import { authToken, keyFingerprint } from '@sluice/auth-token';
import { compose, type EventName } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { cyberhavenEndpoint } from '@sluice/cyberhaven';
import { errorMap } from '@sluice/error-map';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { monitor, type StatusClass } from '@sluice/monitor';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from './helpers.js';

const BASE = 'https://acme.cyberhaven.io';
const [admin, readOnly] = [demoKeys[0]!, demoKeys[1]!];
const fingerprints = new Map([
  [admin.key, await keyFingerprint(admin.key)],
  [readOnly.key, await keyFingerprint(readOnly.key)],
]);

test("the monitor's figures match the simulator's stats through a 429 storm and token refreshes, for two keys", async () => {
  const clock = createTestClock();
  const server = createMockServer({ clock, tokenTtlMs: 120_000, latencyMs: { min: 20, max: 80 } });
  const mon = monitor({ endpoint: cyberhavenEndpoint });
  let sent = 0;
  const transport = (request: Request) => {
    if (++sent === 150) server.startStorm(3_000);
    return server.fetch(request);
  };
  const retries: unknown[] = [];
  const warnings: EventName[] = [];
  const pipeline = (apiKey: string) => {
    const api = compose([errorMap(), retry429(), authToken({ apiKey, baseUrl: BASE }), rateLimit({ endpoint: cyberhavenEndpoint }), mon], {
      fetch: transport,
      clock,
    });
    api.events.on('retry:scheduled', (e) => retries.push(e));
    api.events.on('*', (type) => type.startsWith('monitor:') && warnings.push(type));
    return api;
  };
  const run = async (api: ReturnType<typeof pipeline>, calls: number) => {
    let next = 0;
    const worker = async () => {
      while (next < calls) {
        const id = next++;
        const response = await api(`${BASE}/v2/event-details?ids=evt_${id}`);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  const apis = [pipeline(admin.key), pipeline(readOnly.key)];
  await drive(clock, Promise.all([run(apis[0]!, 200), run(apis[1]!, 120)]));

  const stats = server.stats();
  const snapshot = mon.snapshot();
  const sum = (read: (k: (typeof snapshot.keys)[number]) => number) => snapshot.keys.reduce((n, k) => n + read(k), 0);
  assert.ok(stats.rateLimitedBy.storm >= 1, `the storm answered 429 (${JSON.stringify(stats.rateLimitedBy)})`);
  assert.equal(stats.unauthorized.expired + stats.unauthorized.revoked, 0);
  assert.ok(stats.perKey[admin.id!]!.tokenExchanges >= 2, 'the token was refreshed');

  assert.is(
    sum((k) => k.requests),
    stats.requests,
    'requests reaching the server',
  );
  assert.is(
    sum((k) => k.rateLimited),
    stats.rateLimited,
    '429s',
  );
  assert.is(
    sum((k) => k.tokenExchanges),
    stats.tokenExchanges,
    'token exchanges',
  );
  for (const cls of ['2xx', '4xx', '5xx'] as StatusClass[]) {
    const server = Object.entries(stats.byStatus)
      .filter(([status]) => status.startsWith(cls[0]!))
      .reduce((n, [, count]) => n + count, 0);
    assert.is(
      sum((k) => k.responses[cls]),
      server,
      `${cls} answers`,
    );
  }
  assert.is(
    sum((k) => k.retries),
    retries.length,
    'retries: one per retry:scheduled',
  );
  assert.ok(sum((k) => k.queueWaits) > 0, 'requests waited in the queue');

  for (const key of [admin, readOnly]) {
    const mine = snapshot.keys.find((k) => k.keyId === fingerprints.get(key.key));
    const theirs = stats.perKey[key.id!]!;
    assert.ok(mine, `a row for ${key.id}`);
    assert.is(mine.tokenExchanges, theirs.tokenExchanges, `${key.id}: token exchanges`);
    // The storm's 429s are answered before the key is known; every other request counts for its key.
    assert.is(mine.requests - mine.rateLimited, theirs.requests, `${key.id}: requests the server counted`);
    assert.ok(mine.token && mine.token.expiresAt - mine.token.acquiredAt <= 120_000, `${key.id}: the token in use`);
  }
  assert.ok(warnings.includes('monitor:rate-limited'), 'the storm was reported');
  assert.ok(warnings.includes('monitor:usage-high'), 'so was a key near its limit');
  await Promise.all(apis.map((api) => api.close()));
});

test.run();
