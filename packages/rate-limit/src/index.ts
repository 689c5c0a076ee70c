import {
  ClosedError,
  type Context,
  type Interceptor,
  parseRateLimit,
  parseRetryAfter,
  type SetupContext,
  type SluiceEvents,
} from '@sluice/core';
import { holdBody } from './body.js';
import { QueueFullError, QueueTimeoutError } from './errors.js';
import type { RejectReason } from './events.js';
import { type Acquired, createMemoryStore, type Lease, type RateLimitStore, type StoreRule } from './store.js';

export { isQueueFullError, isQueueTimeoutError, QueueFullError, QueueTimeoutError } from './errors.js';
export type { RejectReason } from './events.js';
export {
  type Acquired,
  type AcquireInput,
  createMemoryStore,
  type Lease,
  type MemoryStore,
  type RateLimitStore,
  type StoreRule,
} from './store.js';

/** At most `limit` requests per `windowMs`, counted per key. */
export interface Rule {
  limit: number;
  windowMs: number;
  /**
   * For a server that counts requests on arrival, whose send-to-arrival delays differ by less than this: a request then
   * counts from its send plus `jitterMs` (or its response, if sooner) instead of from its response. @default Infinity
   */
  jitterMs?: number;
}

export interface RateLimitOptions {
  /** Rules that must all hold, per key. @default [{ limit: 60, windowMs: 60_000 }] */
  rules?: readonly Rule[];
  /** Requests in flight per endpoint of a key. @default 5 */
  concurrency?: number;
  /** How long after a request failed or was aborted it may still reach the server: it counts until then. @default 1000 */
  marginMs?: number;
  /** Requests waiting per key; one more is rejected at once with `QueueFullError`. @default 1000 */
  maxQueue?: number;
  /** Longest wait in the queue before `QueueTimeoutError`. @default Infinity */
  maxWaitMs?: number;
  /** Keep the endpoint's slot until the response body is read to the end or cancelled, not just until its headers. @default false */
  holdUntilBodyDone?: boolean;
  /** A slot not released after this long is taken back. @default 300_000 */
  leaseMs?: number;
  /** What the rules count per: must not be a secret (it shows in events and errors). @default `ctx.state.keyId`, else the origin */
  key?: (request: Request, ctx: Context) => string;
  /** What the concurrency cap counts per. @default `ctx.state.endpoint`, else the URL path without the query */
  endpoint?: (request: Request, ctx: Context) => string;
  /** Where requests are counted. @default a new `createMemoryStore()` */
  store?: RateLimitStore;
}

export const defaults = Object.freeze({
  rules: Object.freeze([Object.freeze({ limit: 60, windowMs: 60_000 })]) as readonly Rule[],
  concurrency: 5,
  marginMs: 1000,
  maxQueue: 1000,
  maxWaitMs: Number.POSITIVE_INFINITY,
  holdUntilBodyDone: false,
  leaseMs: 300_000,
  key: (request: Request, ctx: Context): string => ctx.state.keyId ?? new URL(request.url).origin,
  endpoint: (request: Request, ctx: Context): string => ctx.state.endpoint ?? new URL(request.url).pathname,
}) satisfies Required<Omit<RateLimitOptions, 'store'>>;

export interface RateLimiter extends Interceptor {
  /** Keys with requests waiting, and how many wait in all. */
  stats(): { keys: number; queued: number };
}

interface Waiter {
  seq: number;
  endpoint: string;
  request: Request;
  at: number;
  done?: boolean;
  resolve(lease: Lease): void;
  reject(error: unknown): void;
  off(): void;
}

interface KeyQueues {
  q: Map<string, Waiter[]>;
  n: number;
  timer?: AbortController;
  due: number;
  busy: boolean;
  again: boolean;
}

const number = (name: string, value: number, min: number, integer = false) => {
  if (!(value >= min) || (integer && value !== Number.POSITIVE_INFINITY && !Number.isInteger(value)))
    throw new RangeError(`\`${name}\` must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
};

const thenable = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as Promise<T>)?.then === 'function';
const after = <T>(value: T | Promise<T>, then: (result: T) => void = () => {}) =>
  thenable(value) ? value.then(then, () => {}) : then(value);

/** Queues requests so that no key goes over its rules and no endpoint over its concurrency, in step with the server's headers. */
export function rateLimit(options: RateLimitOptions = {}): RateLimiter {
  const o = { ...defaults, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RateLimitOptions) };
  number('concurrency', o.concurrency, 1, true);
  number('marginMs', o.marginMs, 0);
  number('maxQueue', o.maxQueue, 0, true);
  number('maxWaitMs', o.maxWaitMs, 0);
  number('leaseMs', o.leaseMs, 1);
  if (!Array.isArray(o.rules)) throw new TypeError('`rules` must be an array of { limit, windowMs }');
  const rules: StoreRule[] = o.rules.map((r: Rule, i) => {
    number(`rules[${i}].limit`, r?.limit, 1, true);
    number(`rules[${i}].windowMs`, r.windowMs, 1);
    if (r.limit === Number.POSITIVE_INFINITY) throw new RangeError(`\`rules[${i}].limit\` must be finite`);
    const jitterMs = r.jitterMs ?? Number.POSITIVE_INFINITY;
    number(`rules[${i}].jitterMs`, jitterMs, 0);
    return { limit: r.limit, windowMs: r.windowMs, jitterMs };
  });
  const longest = Math.max(0, ...rules.map((r) => r.windowMs)) || 60_000;
  const store = o.store ?? createMemoryStore();
  const keys = new Map<string, KeyQueues>();
  let env: SetupContext | undefined;
  let closed = false;
  let queued = 0;
  let order = 0;

  const emit = <K extends keyof SluiceEvents & string>(type: K, payload: SluiceEvents[K]) => env?.bus.emit(type, payload);

  const remove = (k: KeyQueues, w: Waiter) => {
    if (w.done) return false;
    w.done = true;
    w.off();
    const q = k.q.get(w.endpoint) as Waiter[];
    q.splice(q.indexOf(w), 1);
    if (!q.length) k.q.delete(w.endpoint);
    k.n--;
    queued--;
    return true;
  };

  const leave = (key: string, k: KeyQueues, w: Waiter, error: unknown, reason: RejectReason) => {
    if (!remove(k, w)) return;
    w.reject(error);
    emit('rate-limit:rejected', { key, endpoint: w.endpoint, reason });
    if (!k.busy) arm(key, k, Number.POSITIVE_INFINITY);
  };

  // One timer per key, at the earliest time a waiter could go or time out; none when nothing waits.
  const arm = (key: string, k: KeyQueues, due: number) => {
    if (!k.n) {
      k.timer?.abort();
      if (keys.get(key) === k) keys.delete(key);
    } else if (due < Number.POSITIVE_INFINITY && !(k.timer && k.due <= due)) {
      k.timer?.abort();
      const timer = new AbortController();
      k.timer = timer;
      k.due = due;
      const clock = (env as SetupContext).clock;
      clock.sleep(due - clock.now(), timer.signal).then(
        () => {
          k.timer = undefined;
          scan(key, k);
        },
        () => {},
      );
    }
  };

  // Offers a slot to each endpoint's first waiter, oldest first, until none can go: a full endpoint blocks only its own queue.
  const scan = async (key: string, k: KeyQueues) => {
    if (k.busy) return void (k.again = true);
    k.busy = true;
    let due = Number.POSITIVE_INFINITY;
    do {
      k.again = false;
      due = Number.POSITIVE_INFINITY;
      const heads = [...k.q.values()].map((q) => q[0] as Waiter).sort((a, b) => a.seq - b.seq);
      for (const w of heads) {
        if (w.done) continue;
        const now = (env as SetupContext).clock.now();
        if (now - w.at >= o.maxWaitMs) {
          leave(key, k, w, new QueueTimeoutError(key, w.endpoint, w.request, now - w.at), 'timeout');
          k.again = true;
          continue;
        }
        let result: Acquired;
        try {
          const pending = store.acquire({ key, endpoint: w.endpoint, now, rules, concurrency: o.concurrency, leaseMs: o.leaseMs });
          result = thenable(pending) ? await pending : pending;
        } catch (error) {
          leave(key, k, w, error, 'error');
          k.again = true;
          continue;
        }
        if (!result.ok) {
          due = Math.min(due, result.retryAt, w.at + o.maxWaitMs);
          continue;
        }
        k.again = true;
        if (remove(k, w)) {
          emit('rate-limit:acquired', { key, endpoint: w.endpoint, waitedMs: now - w.at });
          w.resolve(result);
        } else after(result.release(now));
      }
    } while (k.again);
    k.busy = false;
    arm(key, k, due);
  };

  const wait = (key: string, endpoint: string, request: Request) =>
    new Promise<Lease>((resolve, reject) => {
      const signal = request.signal;
      if (signal.aborted) return reject(signal.reason);
      let k = keys.get(key);
      if (!k) keys.set(key, (k = { q: new Map(), n: 0, due: 0, busy: false, again: false }));
      const onAbort = () => leave(key, k, w, signal.reason, 'aborted');
      const w: Waiter = {
        seq: order++,
        endpoint,
        request,
        at: (env as SetupContext).clock.now(),
        resolve,
        reject,
        off: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort);
      const q = k.q.get(endpoint) ?? [];
      k.q.set(endpoint, q);
      q.push(w);
      k.n++;
      queued++;
      void scan(key, k);
      if (w.done) return;
      if (k.n > o.maxQueue) leave(key, k, w, new QueueFullError(key, endpoint, w.request), 'queue-full');
      else emit('rate-limit:queued', { key, endpoint, queued: q.length });
    });

  const pause = (key: string, until: number, now: number, reason: '429' | 'remaining') =>
    after(store.pause(key, until, now, rules, reason === '429'), (paused) => {
      if (paused) emit('rate-limit:paused', { key, until, delayMs: until - now, reason });
    });

  // What a response (none: the request failed) says of the key's quota: a 429 pauses it, remaining/reset bound what is planned.
  const observe = (key: string, seq: number, now: number, response?: Response) => {
    const info = response && parseRateLimit(response.headers, now);
    const resetAt = info?.resetAt ?? now + (info?.windowMs ?? longest);
    after(store.sync(key, seq, now, info?.remaining, resetAt));
    if (response?.status === 429) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now);
      pause(key, retryAfter === undefined ? (info?.resetAt ?? now + longest) : now + retryAfter, now, '429');
    } else if (info?.remaining === 0) pause(key, resetAt, now, 'remaining');
  };

  // Frees the slot, then learns from the outcome, then lets waiters try: a pause must be in place before they do.
  const finish = (key: string, lease: Lease, countedBy: number, learn?: () => void) =>
    after(lease.release(countedBy), () => {
      learn?.();
      const k = keys.get(key);
      if (k) scan(key, k);
    });

  return {
    name: 'rate-limit',
    setup(context) {
      env = context;
      const off = context.bus.on('rate-limit:exceeded', (e) => {
        const now = context.clock.now();
        pause(e.keyId ?? new URL(e.url).origin, now + (e.retryAfterMs ?? 0), now, '429');
      });
      return () => {
        closed = true;
        off();
        for (const [key, k] of [...keys]) {
          k.timer?.abort();
          for (const q of [...k.q.values()]) for (const w of [...q]) leave(key, k, w, new ClosedError('rate-limit'), 'closed');
        }
        keys.clear();
      };
    },
    async handle(request, next, ctx) {
      env ??= ctx;
      if (closed) throw new ClosedError('rate-limit');
      const key = o.key(request, ctx);
      const lease = await wait(key, o.endpoint(request, ctx), request);
      let response: Response;
      try {
        response = await next(request);
      } catch (error) {
        const now = env.clock.now();
        finish(key, lease, now + o.marginMs, () => observe(key, lease.seq, now));
        throw error;
      }
      const now = env.clock.now();
      const learn = () => observe(key, lease.seq, now, response);
      if (!o.holdUntilBodyDone) {
        finish(key, lease, now, learn);
        return response;
      }
      learn();
      return holdBody(response, () => finish(key, lease, now));
    },
    stats: () => ({ keys: keys.size, queued }),
  };
}
