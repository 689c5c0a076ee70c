// Four pipelines (four processes' worth: each its own Redis connection) share one API key against the simulator
// (60 per minute, 5 concurrent per endpoint), on one virtual clock. With the Redis stores: no 429, the limit's
// throughput, one exchange per token for the fleet. With memory stores: the 429s the shared stores prevent.
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { createMockServer } from '@sluice/mock-server';
import { rateLimit } from '@sluice/rate-limit';
import { fromNodeRedis, redisRateLimitStore, redisTokenStore } from '@sluice/redis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNodeRedis, createIo, type NodeRedisClient, steppingClock, T, uniquePrefix } from './helpers.js';
import { type RedisServer, startRedis } from './server.js';

let server: RedisServer;
let clients: NodeRedisClient[] = [];
test.before(async () => {
  server = await startRedis();
  clients = await Promise.all(Array.from({ length: 4 }, () => connectNodeRedis(server.port)));
});
test.after(async () => {
  for (const c of clients) c.destroy();
  await server.stop();
});

const BASE = 'https://tenant.cyberhaven.io';
const KEY = 'mock_admin_key_0123456789';
const PER_WORKER = 60;
const TOKEN_TTL_MS = 120_000;
const paths = ['/v2/event-details?ids=evt_1', '/v2/incidents/list', '/v2/admin/api-keys'];

function fleet(shared: boolean) {
  const virtual = steppingClock(createTestClock({ now: T }));
  const clock = virtual.clock;
  const io = createIo();
  const mock = createMockServer({ clock, latencyMs: { min: 5, max: 80 }, tokenTtlMs: TOKEN_TTL_MS, seed: 7 });
  const prefix = uniquePrefix('fleet');
  const pipelines = clients.map((client) => {
    const redis = io.wrap(fromNodeRedis(client));
    const stores = shared
      ? {
          tokens: redisTokenStore({ client: redis, prefix, encryptionKey: 'fleet-test-secret-0123456789abcdef', clock }),
          limits: redisRateLimitStore({ client: redis, prefix }),
        }
      : {};
    return compose([authToken({ apiKey: KEY, baseUrl: BASE, store: stores.tokens }), rateLimit({ store: stores.limits })], {
      fetch: mock.fetch,
      clock,
    });
  });
  return { clock, mock, pipelines, drive: (done: () => boolean) => virtual.drive(io, done) };
}

async function burst(shared: boolean) {
  const { clock, mock, pipelines, drive } = fleet(shared);
  const statuses: number[] = [];
  let last = T;
  for (const api of pipelines)
    for (let i = 0; i < PER_WORKER; i++) {
      const path = paths[i % paths.length] as string;
      const init = path.includes('incidents') ? { method: 'POST', body: '{"page_request":{"size":1}}' } : undefined;
      api(BASE + path, init).then(
        async (response) => {
          await response.body?.cancel();
          statuses.push(response.status);
          last = clock.now();
        },
        () => statuses.push(0),
      );
    }
  await drive(() => statuses.length === pipelines.length * PER_WORKER);
  await Promise.all(pipelines.map((api) => api.close()));
  const stats = mock.stats();
  const counted = stats.requests - stats.rateLimited;
  // The least time any client could take: all at once, 60 per minute (sliding log), counting the token exchanges.
  const minimum = Math.floor((counted - 1) / 60) * 60_000;
  return {
    statuses,
    stats,
    elapsed: last - T,
    minimum,
    share: minimum / (last - T),
    peak: Math.max(...Object.values(stats.peakConcurrency)),
  };
}

test("with the Redis stores, 4 pipelines on one key get no 429, the limit's throughput and one exchange per token", async () => {
  const run = await burst(true);
  assert.equal(run.statuses, Array(240).fill(200));
  assert.is(run.stats.rateLimited, 0, 'no 429');
  assert.ok(run.peak <= 5, `at most 5 in flight per endpoint, saw ${run.peak}`);
  assert.ok(run.share >= 0.95, `throughput ${(run.share * 100).toFixed(1)}% of the limit (${run.elapsed} ms for ${run.minimum} ms)`);
  // One process refreshes each token, halfway through its 120 s life: one exchange per minute for the whole fleet.
  const lifetimes = Math.ceil(run.elapsed / (TOKEN_TTL_MS / 2));
  assert.ok(run.stats.tokenExchanges <= lifetimes + 1, `${run.stats.tokenExchanges} exchanges in ${run.elapsed} ms`);
  console.log(
    `  shared: ${run.stats.rateLimited} 429s, ${(run.share * 100).toFixed(1)}% of the limit, ${run.stats.tokenExchanges} exchanges in ${run.elapsed / 1000} s`,
  );
});

test('with memory stores, the same 4 pipelines get the 429s the shared stores prevent, and exchange once each', async () => {
  const run = await burst(false);
  assert.ok(run.stats.rateLimited > 0, 'each pipeline counts alone');
  assert.ok(run.stats.tokenExchanges >= 4, `${run.stats.tokenExchanges} exchanges`);
  console.log(`  memory: ${run.stats.rateLimited} 429s, ${run.stats.tokenExchanges} exchanges in ${run.elapsed / 1000} s`);
});

test('a 401 in every pipeline costs the fleet one exchange: the first to get the lock exchanges, the others read its token', async () => {
  const { mock, pipelines, drive } = fleet(true);
  const statuses: number[] = [];
  const round = () => {
    for (const api of pipelines) api(`${BASE}/v2/admin/api-keys`).then((r) => statuses.push(r.status));
  };
  round();
  await drive(() => statuses.length === 4);
  assert.is(mock.stats().tokenExchanges, 1);
  mock.revokeAllTokens();
  round();
  await drive(() => statuses.length === 8);
  assert.equal(statuses, Array(8).fill(200), 'each 401 replayed with the new token');
  assert.is(mock.stats().tokenExchanges, 2);
  assert.is(mock.stats().unauthorized.revoked, 4);
  await Promise.all(pipelines.map((api) => api.close()));
});

test.run();
