// Runs every call on the memory store and on the Redis store side by side and asserts they answer alike.
import { type Acquired, type AcquireInput, createMemoryStore, type Lease, type StoreRule } from '@sluice/rate-limit';
import { redisRateLimitStore } from '@sluice/redis';
import * as assert from 'uvu/assert';
import type { NodeRedisClient } from './helpers.js';

export interface TwinLease {
  release(countedBy: number): Promise<void>;
  /** Each store's own sequence number (they differ once the memory store has dropped an idle key). */
  seqs: [number, number];
}

export function twin(client: NodeRedisClient, prefix: string) {
  const memory = createMemoryStore();
  const redis = redisRateLimitStore({ client, prefix, pollMs: Infinity, onError: 'fail-closed' });
  const shape = (r: Acquired) => (r.ok ? { ok: true } : r);
  return {
    async acquire(input: AcquireInput, where = ''): Promise<TwinLease | number> {
      const m = memory.acquire(input);
      const r = await redis.acquire(input);
      assert.equal(shape(r), shape(m), `acquire ${where} at +${input.now}`);
      if (!m.ok) return m.retryAt;
      const leases = [m, r] as [Lease, Lease];
      return {
        seqs: [leases[0].seq, leases[1].seq],
        release: async (countedBy) => {
          leases[0].release(countedBy);
          await leases[1].release(countedBy);
        },
      };
    },
    async pause(key: string, until: number, now: number, rules: readonly StoreRule[], refused: boolean, where = '') {
      const m = memory.pause(key, until, now, rules, refused);
      assert.is(await redis.pause(key, until, now, rules, refused), m, `pause ${where}`);
      return m;
    },
    async sync(key: string, lease: TwinLease, now: number, remaining?: number, resetAt?: number) {
      memory.sync(key, lease.seqs[0], now, remaining, resetAt);
      await redis.sync(key, lease.seqs[1], now, remaining, resetAt);
    },
  };
}
