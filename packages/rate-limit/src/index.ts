import { ClosedError, type Context, type Interceptor, onAbort, type SetupContext, type SluiceEvents } from '@sluice/core';
import { parseRateLimit, parseRetryAfter } from '@sluice/core/http';
import { holdBody } from './body.js';
import { QueueFullError, QueueTimeoutError } from './errors.js';
import type { RejectReason } from './events.js';
import { type Acquired, createMemoryStore, type Lease, type RateLimitStore, type StoreRule } from './store.js';

export { isQueueFullError, isQueueTimeoutError, QueueError, QueueFullError, QueueTimeoutError } from './errors.js';
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

/** At most `limit` requests per `windowMs`, counted per key: a sliding log, or with `burst` a token bucket. */
export interface Rule {
  limit: number;
  windowMs: number;
  /**
   * Only for a server known to count with a token bucket (GCRA): up to `burst` at once, refilled `limit` per `windowMs`
   * (nginx `limit_req burst=b` is `burst: b + 1`). Unsafe against a sliding log or fixed window. @default none: a sliding log
   */
  burst?: number;
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
  /** How long after a request failed or was aborted it may still reach or busy the server: it keeps its slot and counts until then. @default 1000 */
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
  maxWaitMs: Infinity,
  holdUntilBodyDone: false,
  leaseMs: 300_000,
  key: (request: Request, ctx: Context): string => ctx.state.keyId ?? new URL(request.url).origin,
  // The path sliced from the serialised URL: no URL object per request.
  endpoint: (request: Request, ctx: Context): string => ctx.state.endpoint ?? request.url.replace(/^[^/]*\/\/[^/]*|[?#].*/gs, ''),
}) satisfies Required<Omit<RateLimitOptions, 'store'>>;

export interface RateLimiter extends Interceptor {
  /** Keys with requests waiting, and how many wait in all. */
  stats(): { keys: number; queued: number };
}

interface Waiter {
  endpoint: string;
  request: Request;
  at: number;
  /** A request the pipeline needs before the others (a token exchange). */
  first?: boolean;
  done?: boolean;
  /** What the wait ends with: a slot, else `error`. */
  lease?: Lease;
  error?: unknown;
  /** Wakes the waiter's own loop: it left the queue, became the oldest, or the key's due time changed. */
  poke?: () => void;
  off(): void;
}

/** A key's waiters in arrival order, and when the oldest of them should look again. */
interface Queue {
  w: Waiter[];
  due: number;
  busy?: boolean;
  again?: boolean;
}

const check = (name: string, value: number, min: number, integer?: boolean) => {
  if (!(value >= min) || (integer && !Number.isInteger(value) && value !== Infinity))
    throw new RangeError(`\`${name}\` must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
};

const noop = () => {};
const thenable = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as Promise<T>)?.then === 'function';
// Runs `then` at once on a plain value, or when a store's promise settles (a failed write is not the caller's failure).
const after = <T>(value: T | Promise<T>, then: (result: T) => void = noop) => (thenable(value) ? value.then(then, noop) : then(value));

/** Queues requests so that no key goes over its rules and no endpoint over its concurrency, in step with the server's headers. */
export function rateLimit(options: RateLimitOptions = {}): RateLimiter {
  const o = { ...defaults, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RateLimitOptions) };
  for (const [name, min, integer] of [
    ['concurrency', 1, true],
    ['maxQueue', 0, true],
    ['marginMs', 0],
    ['maxWaitMs', 0],
    ['leaseMs', 1],
  ] as const)
    check(name, o[name], min, integer);
  if (!Array.isArray(o.rules)) throw new TypeError('`rules` must be an array of { limit, windowMs }');
  const rules: StoreRule[] = o.rules
    .map((rule: Rule, i) => {
      // jitterMs and burst may be left out; limit and windowMs may not.
      for (const [name, min, integer, optional] of [
        ['limit', 1, true],
        ['windowMs', 1],
        ['jitterMs', 0, false, true],
        ['burst', 1, true, true],
      ] as const)
        check(`rules[${i}].${name}`, (optional ? (rule[name] ?? min) : rule[name]) as number, min, integer);
      return { ...rule, jitterMs: rule.jitterMs ?? Infinity };
    })
    .filter((r) => r.limit < Infinity);
  const longest = Math.max(0, ...rules.map((r) => r.windowMs)) || 60_000;
  const store = o.store ?? createMemoryStore();
  const queues = new Map<string, Queue>();
  // Requests that hold a slot while an outer interceptor's last step before the send waits (auth-token, for a new
  // token): each can give its slot back, unsent.
  const holders = new Set<{ key: string; give: () => unknown }>();
  let env: SetupContext | undefined;
  let closed = false;
  let queued = 0;

  const now = () => (env as SetupContext).clock.now();
  const ask = (key: string, endpoint: string, t: number) =>
    store.acquire({ key, endpoint, now: t, rules, concurrency: o.concurrency, leaseMs: o.leaseMs });
  const emit = <K extends keyof SluiceEvents & string>(type: K, payload: SluiceEvents[K]) => env?.bus.emit(type, payload);

  // Ends a wait; the waiter's own loop returns the lease or throws the error, and the next oldest takes the timer.
  const remove = (q: Queue, w: Waiter, lease?: Lease, error?: unknown) => {
    if (w.done) return false;
    w.done = true;
    w.lease = lease;
    w.error = error;
    w.off();
    q.w.splice(q.w.indexOf(w), 1);
    queued--;
    w.poke?.();
    q.w[0]?.poke?.();
    return true;
  };

  const leave = (key: string, q: Queue, w: Waiter, error: unknown, reason: RejectReason) => {
    if (!remove(q, w, undefined, error)) return;
    emit('rate-limit:rejected', { key, endpoint: w.endpoint, reason });
    if (!q.busy) arm(key, q, q.due);
  };

  // The oldest waiter looks again at `due`; the queue goes once nothing waits.
  const arm = (key: string, q: Queue, due: number) => {
    if (!q.w.length) {
      if (queues.get(key) === q) queues.delete(key);
    } else if (due !== q.due) {
      q.due = due;
      q.w[0]?.poke?.();
    }
  };

  // Offers slots in arrival order. Once an endpoint is refused, its later waiters wait too (FIFO per endpoint),
  // while waiters for other endpoints still get their turn (no head-of-line blocking).
  const scan = async (key: string, q: Queue) => {
    if (q.busy) return void (q.again = true);
    q.busy = true;
    let due: number;
    do {
      q.again = false;
      due = Infinity;
      const refused = new Set<string>();
      for (const w of [...q.w]) {
        if (w.done) continue;
        const t = now();
        if (!refused.has(w.endpoint)) {
          let result: Acquired;
          try {
            const pending = ask(key, w.endpoint, t);
            result = thenable(pending) ? await pending : pending;
          } catch (error) {
            leave(key, q, w, error, 'error');
            continue;
          }
          if (result.ok) {
            if (remove(q, w, result)) emit('rate-limit:acquired', { key, endpoint: w.endpoint, waitedMs: t - w.at });
            else {
              // It left while the store answered: give the slot back, and let the others try again.
              after(result.release(t));
              q.again = true;
            }
            continue;
          }
          // A token exchange refused while slots are held by requests that wait for that very token: one of them
          // gives its slot back, or neither would go before its lease ran out.
          const holder = w.first && [...holders].find((h) => h.key === key);
          if (holder) {
            holders.delete(holder);
            await holder.give();
            q.again = true;
            break;
          }
          refused.add(w.endpoint);
          due = Math.min(due, result.retryAt);
        }
        if (t - w.at >= o.maxWaitMs) leave(key, q, w, new QueueTimeoutError(key, w.endpoint, w.request), 'timeout');
        else due = Math.min(due, w.at + o.maxWaitMs);
      }
    } while (q.again);
    q.busy = false;
    arm(key, q, due);
  };

  // Each waiting request runs its own loop on its own timer: a Worker cancels a request that waits with nothing
  // pending in its own context, and drops a timer when the request that set it ends. The oldest waiter's timer is
  // set to when the key could next send; the others' only to their deadline.
  // The fast path reads the caller's signal, not the request's: in Node, reading `request.signal` builds it, which
  // costs more than the rest of this path. A request that aborted otherwise fails at the transport and is released.
  const wait = (key: string, endpoint: string, request: Request, ctx: Context): Lease | Promise<Lease> => {
    ctx.signal?.throwIfAborted();
    const first = ctx.state.priority;
    if (queues.has(key)) return enqueue(key, endpoint, request, first);
    // Nobody waits for the key: ask the store straight away, without a waiter, a listener or a scan (and, from a
    // store that answers at once, without a promise).
    const t = now();
    let pending: Acquired | Promise<Acquired>;
    try {
      pending = ask(key, endpoint, t);
    } catch (error) {
      return failed(key, endpoint, error);
    }
    if (!thenable(pending)) return take(pending, key, endpoint, request, t, first);
    return pending.then(
      (result) => take(result, key, endpoint, request, t, first, true),
      (error) => failed(key, endpoint, error),
    );
  };

  // `late`: the store answered after a wait, during which the request may have been aborted.
  const take = (result: Acquired, key: string, endpoint: string, request: Request, t: number, first?: boolean, late?: boolean) => {
    if (!result.ok) return enqueue(key, endpoint, request, first);
    if (late && request.signal.aborted) {
      after(result.release(t));
      throw request.signal.reason;
    }
    emit('rate-limit:acquired', { key, endpoint, waitedMs: 0 });
    return result;
  };

  const failed = (key: string, endpoint: string, error: unknown): never => {
    emit('rate-limit:rejected', { key, endpoint, reason: 'error' });
    throw error;
  };

  // `first`: served before the others, and may take a blocked request's slot; `again`: it gave its slot back to one, and
  // is served before the others.
  const enqueue = async (key: string, endpoint: string, request: Request, first?: boolean, again?: boolean): Promise<Lease> => {
    const signal = request.signal;
    // It may have aborted while an async store answered.
    signal.throwIfAborted();
    const q = queues.get(key) ?? { w: [], due: Infinity };
    queues.set(key, q);
    const w: Waiter = { endpoint, request, at: now(), first, off: noop };
    w.off = onAbort(signal, () => leave(key, q, w, signal.reason, 'aborted'));
    if (first || again) q.w.unshift(w);
    else q.w.push(w);
    queued++;
    scan(key, q);
    if (!w.done) {
      if (q.w.length > o.maxQueue) leave(key, q, w, new QueueFullError(key, endpoint, request), 'queue-full');
      else emit('rate-limit:queued', { key, endpoint, queued: q.w.length });
    }
    while (!w.done) {
      // A poke cuts the sleep short.
      const timer = new AbortController();
      w.poke = () => timer.abort();
      const until = Math.min(q.w[0] === w ? q.due : Infinity, w.at + o.maxWaitMs, now() + 2 ** 31 - 1);
      const fired = await (env as SetupContext).clock.sleep(until - now(), timer.signal).then(() => true, noop);
      if (fired) {
        if (q.w[0] === w) q.due = Infinity;
        scan(key, q);
      }
    }
    if (w.lease) return w.lease;
    throw w.error;
  };

  const pause = (key: string, until: number, at: number, reason: '429' | 'remaining') =>
    after(store.pause(key, until, at, rules, reason === '429'), (end) => {
      if (end) emit('rate-limit:paused', { key, until: end, delayMs: end - at, reason });
    });

  // What a response (none: the request failed) says of the key's quota: a 429 pauses it, remaining/reset bound what is planned.
  const observe = (key: string, seq: number, at: number, response?: Response) => {
    const info = response && parseRateLimit(response.headers, at);
    const resetAt = info?.resetAt ?? at + (info?.windowMs ?? longest);
    after(store.sync(key, seq, at, info?.remaining, resetAt));
    if (response?.status === 429) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), at);
      pause(key, retryAfter === undefined ? (info?.resetAt ?? at + longest) : at + retryAfter, at, '429');
    } else if (info?.remaining === 0) pause(key, resetAt, at, 'remaining');
  };

  // Frees the slot, then learns from the outcome (`at` set: the request ended then, with `response` or failing),
  // then lets waiters try: a pause must be in place before they do. Returns the store's promise, if any.
  const finish = (key: string, lease: Lease, countedBy: number, at?: number, response?: Response) => {
    const released = lease.release(countedBy);
    if (thenable(released)) return released.then(() => settle(key, lease, at, response), noop);
    settle(key, lease, at, response);
  };

  const settle = (key: string, lease: Lease, at?: number, response?: Response) => {
    if (at !== undefined) observe(key, lease.seq, at, response);
    const q = queues.get(key);
    if (q) scan(key, q);
  };

  return {
    name: 'rate-limit',
    setup(context) {
      env = context;
      const off = context.bus.on('rate-limit:exceeded', (e) => {
        const at = now();
        pause(e.keyId ?? new URL(e.url).origin, at + (e.retryAfterMs ?? 0), at, '429');
      });
      return () => {
        closed = true;
        off();
        for (const [key, q] of queues) for (const w of [...q.w]) leave(key, q, w, new ClosedError('rate-limit'), 'closed');
      };
    },
    async handle(request, next, ctx) {
      env ??= ctx;
      if (closed) throw new ClosedError('rate-limit');
      const key = o.key(request, ctx);
      const endpoint = o.endpoint(request, ctx);
      const waited = wait(key, endpoint, request, ctx);
      let lease: Lease | undefined = thenable(waited) ? await waited : waited;
      // The last step before the send may wait: auth-token waits there for a new token, whose exchange needs a slot of
      // this key. Meanwhile the request's slot may be taken for that exchange (released at -Infinity: it never counted); it then
      // queues again, first, and runs the step again (the token may have expired in the queue once more).
      const own = ctx.state.beforeSend;
      if (own) {
        const ready = (outgoing: Request): Request | Promise<Request> => {
          const result = own(outgoing);
          if (!thenable(result) || !lease) return result;
          const holder = {
            key,
            // Released unsent, it ends like a failed request (a probe after a pause is over) and lets waiters try.
            give: () => {
              const given = lease as Lease;
              lease = undefined;
              return finish(key, given, -Infinity, now());
            },
          };
          holders.add(holder);
          return result.then(
            async (request) => {
              holders.delete(holder);
              if (lease) return request;
              lease = await enqueue(key, endpoint, request, false, true);
              return ready(request);
            },
            (error) => {
              // It will not be sent (aborted): its slot goes back unsent.
              if (holders.delete(holder)) holder.give();
              throw error;
            },
          );
        };
        ctx.state.beforeSend = ready;
      }
      let response: Response;
      try {
        response = await next(request);
      } catch (error) {
        const at = now();
        if (lease) finish(key, lease, at + o.marginMs, at);
        throw error;
      } finally {
        if (own) ctx.state.beforeSend = own;
      }
      const at = now();
      // Sent, so it holds a slot: the first one, or the one taken again.
      const held = lease as Lease;
      if (!o.holdUntilBodyDone) {
        finish(key, held, at, at, response);
        return response;
      }
      observe(key, held.seq, at, response);
      return holdBody(response, () => finish(key, held, at));
    },
    stats: () => ({ keys: queues.size, queued }),
  };
}
