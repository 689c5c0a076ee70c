// Clients, I/O tracking and a virtual-time driver for suites that mix a virtual clock with a real Redis server.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Clock } from '@sluice/core';
import type { TestClock } from '@sluice/core/testing';
import type { AcquireInput } from '@sluice/rate-limit';
import { fromNodeRedis, type ScriptClient } from '@sluice/redis';

// The client libraries are devDependencies of packages/redis, so they resolve from there.
const require = createRequire(resolve(import.meta.dirname, '../../packages/redis/package.json'));
type NodeRedis = typeof import('../../packages/redis/node_modules/redis');
export const createClient: NodeRedis['createClient'] = require('redis').createClient;
export const IORedis: typeof import('../../packages/redis/node_modules/ioredis').default = require('ioredis');
export type NodeRedisClient = import('../../packages/redis/node_modules/redis').RedisClientType;

export const T = Date.UTC(2026, 0, 1);
let prefixes = 0;
/** A prefix no other test uses, so tests sharing a server share nothing. */
export const uniquePrefix = (name = 't') => `${name}${process.pid}x${prefixes++}`;

/** A node-redis client that reconnects every 50 ms. `connect: false` leaves it connecting in the background. */
export async function connectNodeRedis(
  port: number,
  options: { connect?: boolean; disableOfflineQueue?: boolean } = {},
): Promise<NodeRedisClient> {
  const client = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: () => 50, connectTimeout: 500 },
    disableOfflineQueue: options.disableOfflineQueue ?? false,
  });
  client.on('error', () => {});
  const connecting = client.connect().catch(() => {});
  if (options.connect !== false) await connecting;
  return client as NodeRedisClient;
}

/** Waits (real time, bounded) until the client has reconnected. */
export async function ready(client: NodeRedisClient, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!client.isReady) {
    if (Date.now() > end) throw new Error('client did not reconnect');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Counts Redis commands in flight across every client it wraps, so a test can wait for real I/O before moving virtual time. */
export function createIo() {
  let inflight = 0;
  let idle: (() => void)[] = [];
  const done = () => {
    if (--inflight === 0) for (const f of idle.splice(0)) f();
  };
  const track = <T>(promise: Promise<T>) => {
    inflight++;
    promise.then(done, done);
    return promise;
  };
  return {
    wrap: (client: ScriptClient): ScriptClient => ({
      runSha: (...args) => track(client.runSha(...args)),
      run: (...args) => track(client.run(...args)),
    }),
    nodeRedis: (client: NodeRedisClient) => fromNodeRedis(client),
    get inflight() {
      return inflight;
    },
    /** Resolves once no command is in flight and a few turns of the event loop (and crypto jobs) brought none. */
    async settle(): Promise<void> {
      let quietSince = performance.now();
      for (let quiet = 0; quiet < 4 || performance.now() - quietSince < 1; ) {
        await new Promise((r) => setImmediate(r));
        if (inflight > 0) {
          await new Promise<void>((r) => idle.push(r));
          quiet = 0;
          quietSince = performance.now();
        } else quiet++;
      }
    },
    reset() {
      idle = [];
    },
  };
}

/**
 * A clock over a test clock that knows when its next timer is due, so `drive` can move time from one timer to the next,
 * letting real Redis I/O finish in between.
 */
export function steppingClock(clock: TestClock) {
  const due = new Map<Promise<void>, number>();
  const stepping: Clock = {
    now: () => clock.now(),
    sleep(ms, signal) {
      const at = clock.now() + Math.max(0, Number.isFinite(ms) ? ms : 0);
      const promise = clock.sleep(ms, signal);
      due.set(promise, at);
      const forget = () => due.delete(promise);
      promise.then(forget, forget);
      return promise;
    },
  };
  const next = () => (due.size ? Math.min(...due.values()) : undefined);
  return {
    clock: stepping,
    /** Runs timers in time order, settling I/O between steps, until `finished()`; fails after `maxSteps`. */
    async drive(io: { settle(): Promise<void> }, finished: () => boolean, maxSteps = 200_000): Promise<number> {
      let idle = 0;
      for (let steps = 0; steps < maxSteps; steps++) {
        await io.settle();
        if (finished()) return steps;
        const at = next();
        if (at === undefined) {
          // Work outside Redis and timers (crypto.subtle runs on a thread pool) may still be on its way.
          if (++idle > 400) throw new Error('drive: nothing left to wait for, and the work is not finished');
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        idle = 0;
        await clock.advanceTo(Math.max(at, clock.now()));
      }
      throw new Error(`drive: not finished after ${maxSteps} steps`);
    },
  };
}

/**
 * A ScriptClient over a real one that a test can break: `down` rejects at once (a refused connection), `lose` runs the
 * command on the server but loses its answer (as a timeout does).
 */
export function switchable(client: ScriptClient) {
  const state = { mode: 'up' as 'up' | 'down' | 'lose', client: undefined as unknown as ScriptClient };
  const wrap =
    <A extends unknown[]>(call: (...args: A) => Promise<unknown>) =>
    (...args: A) => {
      if (state.mode === 'down') return Promise.reject(new Error('connect ECONNREFUSED (test)'));
      if (state.mode === 'lose')
        return call(...args).then(() => {
          throw new Error('answer lost (test)');
        });
      return call(...args);
    };
  state.client = { runSha: wrap(client.runSha), run: wrap(client.run) };
  return state;
}

/** One request of the fleet key at `now`, at the API's 60 a minute and 5 in flight: the store suites' acquire input. */
export const rules = [{ limit: 60, windowMs: 60_000, jitterMs: Number.POSITIVE_INFINITY }];
export const input = (now: number, more: Partial<AcquireInput> = {}): AcquireInput => ({
  key: 'fleet',
  endpoint: '/v2/items',
  now,
  rules,
  concurrency: 5,
  leaseMs: 300_000,
  ...more,
});
