import {
  type Acquired,
  type AcquireInput,
  type Answer,
  createMemoryStore,
  type Lease,
  type Outcome,
  type RateLimitStore,
  type SharedPolicy,
  type StoreRule,
} from '@sluice/rate-limit';
import { type SubscriberLike, toSubscriber } from './client.js';
import { createGuard } from './guard.js';
import { positive, type RedisStoreOptions, randomId, resolveCommon, tagged } from './options.js';
import { ACQUIRE, FINISH, PAUSE, SHARE } from './rate-limit-scripts.js';
import { decodePolicy, encodePolicy } from './shared-policy.js';

export interface RedisRateLimitStoreOptions extends RedisStoreOptions {
  /**
   * A second connected client of its own (node-redis or ioredis: a subscribed connection can do nothing else), on which
   * the store hears at once when another process frees capacity a waiting request of this one could use.
   * @default none: such a wait is retried after `pollMs`
   */
  subscriber?: SubscriberLike;
  /**
   * Longest a waiting request takes to see capacity freed by another process (its slot, its request in flight), in
   * clock ms, when no `subscriber` tells it sooner: a wait that such a release could shorten is retried after this long.
   * `Infinity`: wait for the computed time. @default 100
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
  pause(key: string, until: number, now: number, rules: readonly StoreRule[]): Promise<number>;
  onFreed(listener: (key: string) => void): () => void;
  sharePolicy(key: string, learnt: SharedPolicyInput, now: number): Promise<number | undefined>;
  /**
   * Resolves once the calls in flight have settled: a release that `rateLimit()` sends after a response is not awaited
   * by the pipeline's `close()`. Call it after that and before quitting the client. The store stays usable.
   */
  close(): Promise<void>;
}

type SharedPolicyInput = Omit<SharedPolicy, 'stamp'>;

export const rateLimitStoreDefaults = Object.freeze({ pollMs: 100, fallbackShare: 1 });

// Releases that failed are kept (up to this many) and sent again once Redis answers.
const MAX_PENDING = 10_000;

const finite = (n: number) => (n === Number.POSITIVE_INFINITY ? '-1' : String(n));
// Lua has no literal for infinity: a lease of 30,000 years is forever enough.
const capped = (n: number) => String(Math.min(n, 1e15));
const optional = (n: number | undefined) => (n === undefined ? '' : String(n));
// Lua formats infinities as `inf` and `-inf`.
const toNumber = (value: unknown) =>
  value === 'inf' ? Number.POSITIVE_INFINITY : value === '-inf' ? Number.NEGATIVE_INFINITY : Number(value);
const ruleId = (r: StoreRule) => `${r.limit}/${r.windowMs}${r.burst ? `/b${r.burst}` : ''}`;

/** A `RateLimitStore` on Redis: the memory store's algorithm, one Lua script per method, shared by every process. */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  const common = resolveCommon(options);
  const pollMs = options.pollMs ?? rateLimitStoreDefaults.pollMs;
  const share = options.fallbackShare ?? rateLimitStoreDefaults.fallbackShare;
  positive('pollMs', pollMs, 0, true);
  if (!(share > 0 && share <= 1)) throw new RangeError(`\`fallbackShare\` must be a number in (0, 1], got ${String(share)}`);
  const subscriber = options.subscriber === undefined ? undefined : toSubscriber(options.subscriber);
  const local = options.fallback ?? createMemoryStore();
  const guard = createGuard({ ...common, store: 'rate-limit', scripts: [ACQUIRE, FINISH, PAUSE, SHARE] });
  const channel = `${common.prefix}:rl:freed`;
  const freed = new Set<(key: string) => void>();
  const hear = (key: string) => {
    for (const listener of freed) listener(key);
  };
  // Releases lost to an outage, to send again (at the time they are sent) once Redis answers.
  const pending = new Map<string, (now: number) => Promise<unknown>>();
  const inflight = new Set<Promise<unknown>>();
  const call = (operation: string, script: string, keys: string[], args: string[], now: number) => {
    latestNow = Math.max(latestNow, now);
    const promise = guard.call(operation, script, keys, args, now);
    const forget = (): void => void inflight.delete(settled);
    const settled: Promise<void> = promise.then(forget, forget);
    inflight.add(settled);
    return promise;
  };

  const state = (key: string) => tagged(common.prefix, 'rl', key);
  const policyKey = (key: string) => `${state(key)}:policy`;
  // Learnt rules share one set of requests in flight: each counts every request of the key, whatever rule it went under.
  const keysOf = (key: string, endpoint: string, rules: readonly StoreRule[]) => [
    state(key),
    `${state(key)}:slots:${endpoint}`,
    policyKey(key),
    ...rules.flatMap((r) => [
      `${state(key)}:rule:${ruleId(r)}`,
      r.startsFrom ? `${state(key)}:pending:learnt` : `${state(key)}:pending:${ruleId(r)}`,
    ]),
  ];
  const flag = (b: boolean | undefined) => (b ? '1' : '0');
  const ruleArgs = (rules: readonly StoreRule[]) =>
    rules.flatMap((r) => {
      const from = r.startsFrom;
      return [
        ruleId(r),
        String(r.limit),
        String(r.windowMs),
        finite(r.jitterMs),
        String(r.burst ?? 0),
        flag(from !== undefined),
        flag(from?.fromLog),
        flag(from?.followsQuota),
        optional(from?.counted),
        optional(from?.at),
        optional(from?.fullUntil),
        optional(from?.newestAt),
      ];
    });
  // Long enough for every window, bucket refill, lease and pause in use; only reclaims keys nobody uses any more.
  const ttl = (rules: readonly StoreRule[], leaseMs: number) =>
    2 * (Math.min(leaseMs, 86_400_000) + Math.max(0, ...rules.map((r) => Math.max(r.windowMs, ((r.burst ?? 0) * r.windowMs) / r.limit)))) +
    60_000;
  const scale = (rules: readonly StoreRule[]) =>
    share === 1 ? rules : rules.map((r) => ({ ...r, limit: Math.max(1, Math.floor(r.limit * share)) }));

  // A release lost to an outage is kept and sent again first thing once Redis answers: the connection keeps order,
  // so the next acquire sees what it frees. No acquire may come (every waiter of the fleet may wait for what a lost
  // release frees: a probe's, a followed quota's in flight), so a timer also sends them after `retryRedisMs`, dated by
  // the latest time a call carried (the store has no clock). Not after `close()`, unless the store is used again.
  let latestNow = Number.NEGATIVE_INFINITY;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const keepPending = (id: string, send: (now: number) => Promise<unknown>) => {
    if (pending.size < MAX_PENDING) pending.set(id, send);
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retryPending(latestNow);
    }, common.retryRedisMs);
    // While Redis stays down the timer comes back every retryRedisMs: it must not keep a process alive (Node's unref;
    // other runtimes have none and need none).
    (retryTimer as { unref?: () => void }).unref?.();
  };
  const retryPending = (now: number) => {
    for (const [id, send] of [...pending].slice(0, 100)) {
      pending.delete(id);
      send(now);
    }
  };

  const outcomeOf = (reply: unknown): Outcome | undefined => {
    const [until, reason, counted] = (reply as string[]) ?? [];
    const outcome: Outcome = {};
    if (until) outcome.paused = { until: toNumber(until), reason: reason as '429' | 'remaining' };
    if (counted) outcome.tokenExchangeCounted = counted === '1';
    return outcome.paused || outcome.tokenExchangeCounted !== undefined ? outcome : undefined;
  };

  // Local leases get negative sequence numbers, so their answers reach the local store even after Redis is back.
  const acquireLocal = async (input: AcquireInput): Promise<Acquired> => {
    const result = await local.acquire({
      ...input,
      rules: scale(input.rules),
      concurrency: Math.max(1, Math.floor(input.concurrency * share)),
    });
    return result.ok ? { ...result, seq: -1 - result.seq } : result;
  };

  // Ends (`release`) or learns from (`answer`) the send the acquire with this claim made.
  const finisher = (input: AcquireInput, claim: string) => {
    const { key, endpoint, rules, now, leaseMs } = input;
    const keys = keysOf(key, endpoint, rules);
    const finish = (
      release: boolean,
      countedBy: number,
      answer: Answer | undefined,
      at: number,
      retry = false,
    ): Promise<Outcome | undefined> => {
      const args = [
        claim,
        release ? '1' : '0',
        countedBy === Number.NEGATIVE_INFINITY ? '-inf' : String(countedBy),
        String(now),
        capped(leaseMs),
        String(ttl(rules, leaseMs)),
        channel,
        key,
        answer ? '1' : '0',
        ...[
          answer?.sentAt,
          answer?.at,
          answer?.status,
          answer?.retryAt,
          answer?.remaining,
          answer?.resetAt,
          answer?.limit,
          answer?.windowMs,
        ].map(optional),
        flag(answer?.quotaTrusted),
        flag(answer?.concurrencyRefused),
        flag(answer?.resetInWholeSeconds),
        ...ruleArgs(rules),
      ];
      const again = (later: number) => finish(release, countedBy, undefined, later, true);
      if (!retry && guard.skip(at)) {
        if (release) keepPending(claim, again);
        return Promise.resolve(undefined);
      }
      return call(release ? 'release' : 'observe', FINISH, keys, args, at).then(
        (reply) => {
          pending.delete(claim);
          return outcomeOf(reply);
        },
        () => {
          // A lost answer costs only what it would have taught; a lost release is sent again.
          if (release) keepPending(claim, again);
          return undefined;
        },
      );
    };
    return finish;
  };

  const redisLease = (input: AcquireInput, seq: number, claim: string, alone: boolean): Lease => {
    const finish = finisher(input, claim);
    // The store has no clock: a release is taken to happen at its answer, or at `countedBy` (a failure's margin).
    const endAt = (countedBy: number, answer?: Answer) =>
      Math.max(answer?.at ?? input.now, Number.isFinite(countedBy) ? countedBy : input.now);
    return {
      ok: true,
      seq,
      alone,
      release: (countedBy, answer) => finish(true, countedBy, answer, endAt(countedBy, answer)),
      observe: (answer) => finish(false, Number.NEGATIVE_INFINITY, answer, answer.at),
    };
  };

  return {
    takesLearntRules: true,
    async acquire(input): Promise<Acquired> {
      const { key, endpoint, now, rules, concurrency, leaseMs, tokenExchange } = input;
      closed = false;
      if (guard.skip(now)) {
        if (guard.open) return acquireLocal(input);
        throw guard.down('acquire');
      }
      // With a subscriber, a wait another process can shorten is not polled: its release says so.
      const poll = subscriber ? Number.POSITIVE_INFINITY : pollMs;
      const claim = randomId();
      const args = [
        String(now),
        finite(concurrency),
        capped(leaseMs),
        String(ttl(rules, leaseMs)),
        finite(poll),
        tokenExchange ? '1' : '0',
        claim,
        optional(input.policyStamp),
        String(input.waiting ?? 0),
        ...ruleArgs(rules),
      ];
      if (pending.size > 0) retryPending(now);
      let reply: unknown;
      try {
        reply = await call('acquire', ACQUIRE, keysOf(key, endpoint, rules), args, now);
      } catch (error) {
        // It may still run on the server after the timeout: if it took a slot, it is given back (unsent) by its claim
        // once Redis answers.
        const giveBack = finisher(input, claim);
        keepPending(claim, (later) => giveBack(true, Number.NEGATIVE_INFINITY, undefined, later, true));
        if (guard.open) return acquireLocal(input);
        throw error;
      }
      const [ok, value, detail, stamp, policy, alone] = reply as unknown[];
      const shared = stamp ? decodePolicy(stamp, policy) : undefined;
      const result: Acquired =
        Number(ok) === 1
          ? redisLease(input, Number(value), claim, Number(alone) === 1)
          : { ok: false, retryAt: toNumber(value), blocked: detail === 'endpoint' ? 'endpoint' : 'key' };
      if (shared) result.shared = shared;
      return result;
    },

    async pause(key, until, now, rules) {
      const inLocal = () => local.pause(key, until, now, scale(rules));
      if (guard.skip(now)) {
        if (guard.open) return inLocal();
        throw guard.down('pause');
      }
      try {
        const ttlMs = ttl(rules, 0);
        return toNumber(await call('pause', PAUSE, [state(key)], [String(until), String(now), String(ttlMs)], now));
      } catch (error) {
        if (guard.open) return inLocal();
        throw error;
      }
    },

    async sharePolicy(key, learnt, now) {
      if (guard.skip(now)) return undefined;
      try {
        return Number(await call('share', SHARE, [policyKey(key)], [encodePolicy(learnt)], now));
      } catch {
        // The fleet keeps the policy it had; this process holds its own, and shares the next it learns.
        return undefined;
      }
    },

    onFreed(listener) {
      if (!subscriber) return () => {};
      if (!freed.size) Promise.resolve(subscriber.subscribe(channel, hear)).catch(() => {});
      freed.add(listener);
      return () => {
        if (freed.delete(listener) && !freed.size) Promise.resolve(subscriber.unsubscribe(channel, hear)).catch(() => {});
      };
    },

    async close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      // Releases still kept get one more try, awaited below.
      if (pending.size > 0) retryPending(latestNow);
      // A settled release starts another call a few promise turns later: wait a turn of the event loop before believing it is over.
      do {
        while (inflight.size > 0) await Promise.all(inflight);
        await new Promise((resolve) => setTimeout(resolve, 0));
      } while (inflight.size > 0);
    },
  };
}
