// A process that takes a concurrency slot and then hangs, for the test that kills it: node --import tsx worker.ts <port> <prefix> <now> <leaseMs>
import { redisRateLimitStore } from '@sluice/redis';
import { connectNodeRedis } from './helpers.js';

const [port, prefix, now, leaseMs] = process.argv.slice(2);
const client = await connectNodeRedis(Number(port));
const store = redisRateLimitStore({ client, prefix, onError: 'fail-closed' });
const rules = [{ limit: 60, windowMs: 60_000, jitterMs: Number.POSITIVE_INFINITY }];
const result = await store.acquire({
  key: 'fleet',
  endpoint: '/v2/items',
  now: Number(now),
  rules,
  concurrency: 1,
  leaseMs: Number(leaseMs),
});
process.stdout.write(`${result.ok ? 'acquired' : 'refused'}\n`);
setInterval(() => {}, 60_000);
