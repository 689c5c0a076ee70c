// Runs every call on the memory store and on the Redis store side by side and asserts they answer alike.
import { type Acquired, type AcquireInput, type Answer, createMemoryStore, type Lease, type StoreRule } from '@sluice/rate-limit';
import { redisRateLimitStore } from '@sluice/redis';
import * as assert from 'uvu/assert';
import type { NodeRedisClient } from './helpers.js';

export interface TwinLease {
  /** Ends the request on both stores and asserts they learnt alike from the answer. */
  release(countedBy: number, answer?: Answer): Promise<unknown>;
  observe(answer: Answer): Promise<unknown>;
}

export function twin(client: NodeRedisClient, prefix: string) {
  const memory = createMemoryStore();
  const redis = redisRateLimitStore({ client, prefix, pollMs: Number.POSITIVE_INFINITY, onError: 'fail-closed' });
  const shape = (r: Acquired) => (r.ok ? { ok: true, alone: r.alone } : r);
  return {
    async acquire(input: AcquireInput, where = ''): Promise<TwinLease | number> {
      const m = memory.acquire(input);
      const r = await redis.acquire(input);
      assert.equal(shape(r), shape(m), `acquire ${where} at +${input.now}`);
      if (!m.ok) return m.retryAt;
      const [mine, theirs] = [m, r] as [Lease, Lease];
      return {
        async release(countedBy, answer) {
          const expected = mine.release(countedBy, answer);
          assert.equal(await theirs.release(countedBy, answer), expected, `release ${where} at +${answer?.at}`);
          return expected;
        },
        async observe(answer) {
          const expected = mine.observe(answer);
          assert.equal(await theirs.observe(answer), expected, `observe ${where} at +${answer.at}`);
          return expected;
        },
      };
    },
    async pause(key: string, until: number, now: number, rules: readonly StoreRule[], where = '') {
      const m = memory.pause(key, until, now, rules);
      assert.is(await redis.pause(key, until, now, rules), m, `pause ${where}`);
      return m;
    },
  };
}
