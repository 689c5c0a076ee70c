import { type Acquired, type AcquireInput, createMemoryStore, type RateLimitStore, type StoreRule } from '@sluice/rate-limit';
import { createGuard } from './guard.js';
import { positive, type RedisStoreOptions, randomId, resolveCommon, tagged } from './options.js';
import { ACQUIRE, PAUSE, RELEASE, SYNC } from './rate-limit-scripts.js';

export interface RedisRateLimitStoreOptions extends RedisStoreOptions {
  /**
   * Longest a waiting request takes to see capacity freed by another process (its slot or its log entry), in clock ms:
   * the store cannot tell this process when another one releases, so a wait that such a release could shorten is retried
   * after this long. `Infinity`: wait for the computed time. @default 100
   */
  pollMs?: number;
  /** The local limiter used under `fail-open` while Redis is down. @default a new `createMemoryStore()` */
  fallback?: RateLimitStore;
  /** Share of every limit (and of the concurrency) this process takes alone while on the fallback: 1/N for a fleet of N. @default 1 */
  fallbackShare?: number;
}

/** The store's methods always return promises. */
export interface RedisRateLimitStore extends RateLimitStore {
  acquire(input: AcquireInput): Promise<Acquired>;
  pause(key: string, until: number, now: number, rules: readonly StoreRule[], refused: boolean): Promise<number>;
  sync(key: string, seq: number, now: number, remaining?: number, resetAt?: number): Promise<unknown>;
  /**
   * Resolves once the calls in flight have settled: a release or sync that `rateLimit()` sends after a response is not
   * awaited by the pipeline's `close()`. Call it after that and before quitting the client. The store stays usable.
   */
  close(): Promise<void>;
}

export const rateLimitStoreDefaults = Object.freeze({ pollMs: 100, fallbackShare: 1 });

// Releases that failed are kept (up to this many) and sent again once Redis answers.
const MAX_PENDING = 10_000;

const num = (value: unknown) => Number(value);
const finite = (n: number) => (n === Infinity ? '-1' : String(n));
// Lua has no literal for infinity: a lease of 30,000 years is forever enough.
const capped = (n: number) => String(Math.min(n, 1e15));

/** A `RateLimitStore` on Redis: the memory store's algorithm, one Lua script per method, shared by every process. */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  const common = resolveCommon(options);
  const pollMs = options.pollMs ?? rateLimitStoreDefaults.pollMs;
  const share = options.fallbackShare ?? rateLimitStoreDefaults.fallbackShare;
  positive('pollMs', pollMs, 0, true);
  if (!(share > 0 && share <= 1)) throw new RangeError(`\`fallbackShare\` must be a number in (0, 1], got ${String(share)}`);
  const local = options.fallback ?? createMemoryStore();
  const guard = createGuard({ ...common, store: 'rate-limit', scripts: [ACQUIRE, RELEASE, PAUSE, SYNC] });
  const pending = new Map<string, [keys: string[], countedBy: number]>();
  const inflight = new Set<Promise<unknown>>();
  const call = (operation: string, script: string, keys: string[], args: string[], now: number) => {
    const promise = guard.call(operation, script, keys, args, now);
    const forget = (): void => void inflight.delete(settled);
    const settled: Promise<void> = promise.then(forget, forget);
    inflight.add(settled);
    return promise;
  };

  const state = (key: string) => tagged(common.prefix, 'rl', key);
  const logs = (key: string, rules: readonly StoreRule[]) =>
    rules.map((r) => `${state(key)}:log:${r.limit}/${r.windowMs}${r.burst ? `/b${r.burst}` : ''}`);
  // Long enough for every window, bucket refill, lease and pause in use; only reclaims keys nobody uses any more.
  const ttl = (rules: readonly StoreRule[], leaseMs: number) =>
    2 * (Math.min(leaseMs, 86_400_000) + Math.max(0, ...rules.map((r) => Math.max(r.windowMs, ((r.burst ?? 0) * r.windowMs) / r.limit)))) +
    60_000;
  const scale = (rules: readonly StoreRule[]) =>
    share === 1 ? rules : rules.map((r) => ({ ...r, limit: Math.max(1, Math.floor(r.limit * share)) }));

  const keepPending = (id: string, keys: string[], countedBy: number) =>
    void (pending.size < MAX_PENDING && pending.set(id, [keys, countedBy]));
  const release = async (id: string, keys: string[], countedBy: number, now: number, retry = false): Promise<void> => {
    if (!retry && guard.skip(now)) return keepPending(id, keys, countedBy);
    await call('release', RELEASE, keys, [id, countedBy === -Infinity ? '-inf' : String(countedBy)], now).then(
      () => pending.delete(id),
      () => keepPending(id, keys, countedBy),
    );
  };
  const retryPending = (now: number) => {
    for (const [id, [keys, countedBy]] of [...pending].slice(0, 100)) {
      pending.delete(id);
      release(id, keys, countedBy, now, true);
    }
  };

  // Local leases get negative sequence numbers, so their answers sync the local store even after Redis is back.
  const acquireLocal = async (input: AcquireInput): Promise<Acquired> => {
    const result = await local.acquire({
      ...input,
      rules: scale(input.rules),
      concurrency: Math.max(1, Math.floor(input.concurrency * share)),
    });
    return result.ok ? { ok: true, seq: -1 - result.seq, release: result.release } : result;
  };

  return {
    async acquire(input): Promise<Acquired> {
      const { key, endpoint, now, rules, concurrency, leaseMs } = input;
      if (guard.skip(now)) {
        if (guard.open) return acquireLocal(input);
        throw guard.down('acquire');
      }
      const id = randomId();
      const slots = `${state(key)}:slots:${endpoint}`;
      const ruleArgs = rules.flatMap((r) => [
        String(r.limit),
        String(r.windowMs),
        capped(Math.min(r.jitterMs, leaseMs)),
        String(r.burst ?? 0),
      ]);
      const args = [String(now), finite(concurrency), capped(leaseMs), id, String(ttl(rules, leaseMs)), finite(pollMs), ...ruleArgs];
      const keys = [slots, ...logs(key, rules)];
      // Releases lost to an outage go first: the connection keeps order, so this acquire sees what they free.
      if (pending.size > 0) retryPending(now);
      let reply: unknown;
      try {
        reply = await call('acquire', ACQUIRE, [state(key), ...keys], args, now);
      } catch (error) {
        // It may still run on the server after the timeout: if it took a slot, that slot is given back once Redis answers.
        keepPending(id, keys, now);
        if (guard.open) return acquireLocal(input);
        throw error;
      }
      const [ok, value] = reply as [unknown, unknown];
      if (num(ok) !== 1) return { ok: false, retryAt: num(value) };
      // The store has no clock: the release's time is taken to be `countedBy` (at most a margin later than now), or the
      // acquire's for a request released unsent (at -Infinity).
      return { ok: true, seq: num(value), release: (countedBy) => release(id, keys, countedBy, Math.max(countedBy, now)) };
    },

    async pause(key, until, now, rules, refused) {
      const inLocal = () => local.pause(key, until, now, scale(rules), refused);
      if (guard.skip(now)) {
        if (guard.open) return inLocal();
        throw guard.down('pause');
      }
      const ruleArgs = rules.flatMap((r) => [String(r.limit), String(r.windowMs), String(r.burst ?? 0)]);
      const args = [String(until), String(now), refused ? '1' : '0', String(ttl(rules, 0)), ...ruleArgs];
      try {
        return num(await call('pause', PAUSE, [state(key), ...logs(key, rules)], args, now));
      } catch (error) {
        if (guard.open) return inLocal();
        throw error;
      }
    },

    async sync(key, seq, now, remaining, resetAt) {
      if (seq < 0) return local.sync(key, -1 - seq, now, remaining, resetAt);
      if (guard.skip(now)) return;
      const args = [
        String(seq),
        String(now),
        remaining === undefined ? '' : String(remaining),
        resetAt === undefined ? '' : String(resetAt),
      ];
      // A lost sync costs only the budget's precision: the log and the pauses still hold.
      return call('sync', SYNC, [state(key)], args, now).catch(() => undefined);
    },

    async close() {
      // A settled release starts a sync a few promise turns later: wait a turn of the event loop before believing it is over.
      do {
        while (inflight.size > 0) await Promise.all(inflight);
        await new Promise((resolve) => setTimeout(resolve, 0));
      } while (inflight.size > 0);
    },
  };
}
