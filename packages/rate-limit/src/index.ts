import { ClosedError, type Interceptor, onAbort, type SetupContext, type SluiceEvents } from '@sluice/core';
import {
  type AnnouncedQuota,
  isRateLimited,
  parseRateLimit,
  parseRateLimitPolicy,
  parseRateLimitScope,
  parseRetryAfter,
  type RateLimitInfo,
} from '@sluice/core/http';
import { holdBody } from './body.js';
import { QueueFullError, QueueTimeoutError } from './errors.js';
import type { RejectReason } from './events.js';
import { createLearner, type Learnt, type LearntPolicy } from './learn.js';
import { type RateLimitOptions, resolveOptions } from './options.js';
import { type Call, type Offer, type Waiter, WaitingQueue } from './queue.js';
import { tally } from './recent.js';
import { createRoundTrips } from './round-trips.js';
import { shortestWindow } from './rule-state.js';
import { createScopes } from './scopes.js';
import { createStatedQuotas } from './stated-quotas.js';
import { type Acquired, type Answer, createMemoryStore, type Lease, type Outcome } from './store.js';

export { isQueueFullError, isQueueTimeoutError, QueueError, QueueFullError, QueueTimeoutError } from './errors.js';
export type { RejectReason } from './events.js';
export { type LearntPolicy, LOOSEN_AFTER, type NamedQuotas, type PolicySource, START_GROWTH_ANSWERS, START_IN_FLIGHT } from './learn.js';
export { type CountedAt, defaults, type RateLimitOptions, type Rule } from './options.js';
export {
  type Acquired,
  type AcquireInput,
  type Answer,
  createMemoryStore,
  type KeySnapshot,
  type Lease,
  LOG_CELLS,
  type MemoryStore,
  type Outcome,
  type RateLimitStore,
  type Refusal,
  type RuleStart,
  type SharedPolicy,
  type StoreRule,
} from './store.js';

export interface RateLimiter extends Interceptor {
  /**
   * Keys with requests waiting, and how many wait in all. With `rules: 'auto'`, `policies`: what each key the limiter
   * knows (the 10,000 used last) is held to now, as `policyOf` says; computed when read.
   */
  stats(): { keys: number; queued: number; readonly policies?: Record<string, LearntPolicy> };
  /** With `rules: 'auto'`: what the key is held to now and where that was learnt from; undefined otherwise, or for a key not seen. */
  policyOf(key: string): LearntPolicy | undefined;
}

const noop = () => {};
const thenable = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as Promise<T>)?.then === 'function';
// Runs `then` at once on a plain value, or when a store's promise settles (a failed write is not the caller's failure).
const after = <T>(value: T | Promise<T>, then: (result: T) => void = noop) => (thenable(value) ? value.then(then, noop) : then(value));

/** A request on its way (`rules: 'auto'`): its endpoint, and how many of the key's went there with it, itself included. */
interface Sent {
  endpoint: string;
  inFlight: number;
  /** It waited for its key: the key's rules held it back. */
  waitedForKey?: boolean;
  back(): void;
  /** The key's requests on their way now, this one not among them once back. */
  othersInFlight(): number;
}

/** Round trips are kept for at most this many keys; past it they are forgotten, and dating starts afresh. */
const MAX_KEYS_TIMED = 10_000;

/** Queues requests so that no key goes over its rules and no endpoint over its concurrency, in step with the server's headers. */
export function rateLimit(options: RateLimitOptions = {}): RateLimiter {
  const o = resolveOptions(options);
  const { rules } = o;
  // A 429 that states no wait says some limit is full, not which: the shortest rule is taken to be (the store takes the
  // next longer one per 429 in a row), and its window is the pause.
  const unstatedPause = shortestWindow(rules) || 60_000;
  const store = o.store ?? createMemoryStore();
  // With `rules: 'auto'`, each key's rules are learnt from its answers (in a fleet, where the store shares them).
  const learner = o.auto ? createLearner(o.startFrom, { fleet: typeof store.sharePolicy === 'function' }) : undefined;
  const rulesOf = (key: string) => (learner ? learner.rulesOf(key) : rules);
  // The quotas the server names per key (`rules: 'auto'`): each is learnt and counted under a store key of its own.
  const scopes = learner ? createScopes() : undefined;
  // Quotas the server states per endpoint without naming them: named after what they state, once seen side by side.
  const stated = learner ? createStatedQuotas() : undefined;
  const storeKeyOf = ({ key, endpoint }: Call) => (scopes ? scopes.storeKeyOf(key, endpoint) : key);
  // The store key each lease was taken under, where it is not the request's key.
  const leaseKeys = new WeakMap<Lease, string>();
  const queues = new Map<string, WaitingQueue>();
  // What the round trips of each key say of how early the server can have counted an answered request.
  const roundTrips = createRoundTrips(MAX_KEYS_TIMED);
  // Requests that hold a slot while an outer interceptor's last step before the send waits (auth-token, for a new
  // token): each can give its slot back, unsent.
  const holders = new Set<{ key: string; give: () => unknown }>();
  let env: SetupContext | undefined;
  let closed = false;
  let queued = 0;

  // A store shared by a fleet keeps what each process learns, for the others and for those that start later.
  const sharing = learner && store.sharePolicy ? learner : undefined;
  // A store shared by processes (it says when another frees capacity).
  const fleet = typeof store.onFreed === 'function';

  const now = () => (env as SetupContext).clock.now();
  // Asks the store for a slot under `key`: the request's key, or the quota the server named for its endpoint.
  const ask = (call: Call, key: string, t: number, waiting = 0) => {
    const { endpoint, tokenExchange } = call;
    const concurrency = learner?.capOf(key, endpoint) ?? o.concurrency;
    const input = { key, endpoint, now: t, rules: rulesOf(key), concurrency, leaseMs: o.leaseMs, tokenExchange, waiting };
    const acquired = sharing ? store.acquire({ ...input, policyStamp: sharing.stampOf(key) }) : store.acquire(input);
    const held = (result: Acquired): Acquired => {
      if (sharing) adoptShared(key, result);
      const quotas = result.shared?.policy.quotas;
      if (scopes && quotas && key === call.key) {
        scopes.adopt(key, quotas);
        // The fleet knows the quota this endpoint goes under: it asks again there.
        if (scopes.knows(key, call.endpoint)) {
          if (result.ok) after(result.release(Number.NEGATIVE_INFINITY));
          return { ok: false, retryAt: t, blocked: 'endpoint' };
        }
      }
      if (result.ok && key !== call.key) leaseKeys.set(result, key);
      return result;
    };
    return thenable(acquired) ? acquired.then(held) : held(acquired);
  };

  // Asks under the quota the request's endpoint goes under. An endpoint no answer placed yet goes under its key's most
  // used quota; held back there, it goes as a scout under the key itself instead (one at a time while nothing is learnt
  // of it): its answer places it, and it never waits long on a quota it may not be counted against.
  const acquire = (call: Call, storeKey: string, t: number, waiting = 0) => {
    const first = ask(call, storeKey, t, waiting);
    if (storeKey === call.key || scopes?.knows(call.key, call.endpoint)) return first;
    const scout = (result: Acquired) => (result.ok || result.blocked !== 'key' ? result : ask(call, call.key, t, waiting));
    return thenable(first) ? first.then(scout) : scout(first);
  };
  // The fleet learnt another policy for the key: it holds from this process's next request on.
  const adoptShared = (key: string, result: Acquired) => {
    const learnt = result.shared && sharing?.adoptShared(key, result.shared);
    if (learnt) emit('rate-limit:learned', { key, policy: learnt.policy, evidence: learnt.evidence });
    return result;
  };
  const emit = <K extends keyof SluiceEvents & string>(type: K, payload: SluiceEvents[K]) => env?.bus.emit(type, payload);

  // Ends a wait; the waiter's own loop returns the lease or throws the error, and the next in line takes the timer.
  const remove = (q: WaitingQueue, w: Waiter, lease?: Lease, error?: unknown) => {
    if (!q.remove(w)) return false;
    w.lease = lease;
    w.error = error;
    w.off();
    queued--;
    w.poke?.();
    q.next()?.poke?.();
    return true;
  };

  const leave = (key: string, q: WaitingQueue, w: Waiter, error: unknown, reason: RejectReason) => {
    if (!remove(q, w, undefined, error)) return;
    emit('rate-limit:rejected', { key, endpoint: w.endpoint, reason });
    if (!q.scanning) arm(key, q, q.due);
  };

  // The next in line looks again at `due`; the queue goes once nothing waits.
  const arm = (key: string, q: WaitingQueue, due: number) => {
    if (!q.size) {
      if (queues.get(key) === q) queues.delete(key);
    } else if (due !== q.due) {
      q.due = due;
      q.next()?.poke?.();
    }
  };

  // Offers slots in the queue's order (FIFO per endpoint, no head-of-line blocking across endpoints), again while
  // something changed during an asynchronous store's answer; then arms the next in line's timer.
  const scan = (key: string, q: WaitingQueue): void | Promise<void> => {
    if (q.scanning) return void (q.again = true);
    q.scanning = true;
    let due = Number.POSITIVE_INFINITY;
    const offer = (w: Waiter): Offer | Promise<Offer> => {
      const t = now();
      const storeKey = storeKeyOf(w);
      let pending: Acquired | Promise<Acquired>;
      try {
        pending = acquire(w, storeKey, t, q.size - 1);
      } catch (error) {
        leave(key, q, w, error, 'error');
        return 'taken';
      }
      if (!thenable(pending)) return offered(w, pending, t, storeKey);
      return pending.then(
        (result) => offered(w, result, t, storeKey),
        (error) => {
          leave(key, q, w, error, 'error');
          return 'taken' as const;
        },
      );
    };
    const offered = (w: Waiter, result: Acquired, t: number, storeKey: string): Offer | Promise<Offer> => {
      if (result.ok) {
        if (remove(q, w, result)) emit('rate-limit:acquired', { key, endpoint: w.endpoint, waitedMs: t - w.at });
        else {
          // It left while the store answered: give the slot back, and let the others try again.
          after(result.release(Number.NEGATIVE_INFINITY));
          q.again = true;
        }
        return 'taken';
      }
      // A token exchange refused while slots are held by requests that wait for that very token: one of them gives
      // its slot back, or neither would go before its lease ran out.
      const holder = w.priority && [...holders].find((h) => h.key === key);
      if (holder) {
        holders.delete(holder);
        q.again = true;
        const given = holder.give();
        return thenable(given) ? given.then(() => 'key-blocked' as const) : 'key-blocked';
      }
      due = Math.min(due, result.retryAt);
      if (result.blocked === 'key') w.waitedForKey = true;
      // A quota the server named holds back its own endpoints only: the key's others may still go.
      return result.blocked === 'key' && storeKey === key ? 'key-blocked' : 'endpoint-blocked';
    };
    const round = (): void | Promise<void> => {
      q.again = false;
      due = Number.POSITIVE_INFINITY;
      const order = q.inOrder();
      const drive = (step: IteratorResult<Waiter, void>): void | Promise<void> => {
        while (!step.done) {
          const result = offer(step.value);
          if (thenable(result)) return result.then((r) => drive(order.next(r)));
          step = order.next(result);
        }
        if (q.again) return round();
        q.scanning = false;
        arm(key, q, due);
      };
      return drive(order.next());
    };
    return round();
  };

  // Each waiting request runs its own loop on its own timer: a Worker cancels a request that waits with nothing
  // pending in its own context, and drops a timer when the request that set it ends. The next in line sets its timer
  // to when the key could next send; the others only to their deadline.
  // The fast path reads the caller's signal, not the request's: in Node, reading `request.signal` builds it, which
  // costs more than the rest of this path. A request that aborted otherwise fails at the transport and is released.
  const wait = (call: Call, signal: AbortSignal | undefined): Lease | Promise<Lease> => {
    signal?.throwIfAborted();
    if (queues.has(call.key)) return enqueue(call);
    // Nobody waits for the key: ask the store straight away, without a waiter, a listener or a scan (and, from a
    // store that answers at once, without a promise).
    const t = now();
    let pending: Acquired | Promise<Acquired>;
    try {
      pending = acquire(call, storeKeyOf(call), t);
    } catch (error) {
      return failed(call, error);
    }
    if (!thenable(pending)) return take(call, pending);
    return pending.then(
      (result) => take(call, result, true),
      (error) => failed(call, error),
    );
  };

  // `late`: the store answered after a wait, during which the request may have been aborted.
  const take = (call: Call, result: Acquired, late?: boolean) => {
    if (!result.ok) return enqueue(call);
    if (late && call.request.signal.aborted) {
      after(result.release(Number.NEGATIVE_INFINITY));
      throw call.request.signal.reason;
    }
    emit('rate-limit:acquired', { key: call.key, endpoint: call.endpoint, waitedMs: 0 });
    return result;
  };

  const failed = (call: Call, error: unknown): never => {
    emit('rate-limit:rejected', { key: call.key, endpoint: call.endpoint, reason: 'error' });
    throw error;
  };

  // `again`: a request that gave its slot to a token exchange, served before the others like the exchange itself.
  const enqueue = async (call: Call, again?: boolean): Promise<Lease> => {
    const { key, endpoint, request } = call;
    const signal = request.signal;
    // It may have aborted while an async store answered.
    signal.throwIfAborted();
    let q = queues.get(key);
    if (!q) queues.set(key, (q = new WaitingQueue()));
    const queue = q;
    const w = queue.add({ ...call, at: now(), off: noop }, Boolean(call.priority || again));
    w.off = onAbort(signal, () => leave(key, queue, w, signal.reason, 'aborted'));
    queued++;
    call.onWait?.();
    scan(key, queue);
    if (!w.done) {
      if (queue.size > o.maxQueue) leave(key, queue, w, new QueueFullError(key, endpoint, request), 'queue-full');
      else emit('rate-limit:queued', { key, endpoint, queued: queue.size });
    }
    while (!w.done) {
      // A poke cuts the sleep short.
      const timer = new AbortController();
      w.poke = () => timer.abort();
      const t = now();
      if (t - w.at >= o.maxWaitMs) {
        leave(key, queue, w, new QueueTimeoutError(key, endpoint, request), 'timeout');
        break;
      }
      const until = Math.min(queue.next() === w ? queue.due : Number.POSITIVE_INFINITY, w.at + o.maxWaitMs, t + 2 ** 31 - 1);
      const fired = await (env as SetupContext).clock.sleep(until - t, timer.signal).then(() => true, noop);
      if (fired && !w.done) {
        if (queue.next() === w && now() >= queue.due) queue.due = Number.POSITIVE_INFINITY;
        scan(key, queue);
      }
    }
    call.waitedForKey = w.waitedForKey;
    if (w.lease) return w.lease;
    throw w.error;
  };

  // What the learner made of an answer (`rules: 'auto'`): a policy to announce, and to share with the fleet (a cap on
  // an endpoint's requests in flight is this process's: the fleet's in flight are not counted here).
  const learnFrom = (key: string, answer: Answer, quotas: AnnouncedQuota[], sent?: Sent) =>
    announce(key, learner?.learn(key, answer, quotas, sent && { ...sent, othersInFlight: sent.othersInFlight() }));

  const announce = (key: string, learnt: Learnt | undefined) => {
    if (!learnt) return;
    const { policy, evidence, endpoint } = learnt;
    emit('rate-limit:learned', endpoint === undefined ? { key, policy, evidence } : { key, policy, evidence, endpoint });
    if (sharing && !learnt.endpoint)
      after(store.sharePolicy?.(key, learnt, now()), (stamp) => stamp && sharing.shared(key, stamp, learnt.policy));
  };

  // Requests of each key's endpoint on their way (`rules: 'auto'`), to tell a 429 for requests in flight from one for the rate.
  const sending = new Map<string, number>();
  const sendingOfKey = new Map<string, number>();

  // The key's answers name their quotas and where its requests go changed: announced, and shared with the fleet.
  const nameQuotas = (key: string, byWhatTheyState: boolean) => {
    const quotas = scopes?.quotasOf(key);
    if (!quotas || !learner) return;
    const listed = Object.entries(quotas.endpoints).map(([endpoint, name]) => `${endpoint} under ${name}`);
    const why = byWhatTheyState
      ? 'endpoints state quotas of their own side by side, named after what they state'
      : 'answers name the quota they were counted against';
    const evidence = `${why}: ${[...listed, `the others under ${quotas.fallback}`].join(', ')}`;
    announce(key, learner.named(key, quotas, evidence));
  };
  const depart = (key: string, endpoint: string, waitedForKey?: boolean): Sent => {
    const id = `${key}\n${endpoint}`;
    tally(sending, id, 1);
    tally(sendingOfKey, key, 1);
    const inFlight = sending.get(id) as number;
    const back = () => {
      tally(sending, id, -1);
      tally(sendingOfKey, key, -1);
    };
    return { endpoint, inFlight, waitedForKey, back, othersInFlight: () => sendingOfKey.get(key) ?? 0 };
  };

  // Reports what the store made of an answer: a pause it started, a fact it learnt.
  const report = (key: string, at: number, outcome: Outcome | undefined) => {
    const pause = outcome?.paused;
    if (pause) emit('rate-limit:paused', { key, until: pause.until, delayMs: pause.until - at, reason: pause.reason });
    const counted = outcome?.tokenExchangeCounted;
    if (counted !== undefined)
      emit('rate-limit:learned', {
        key,
        tokenExchangeCounted: counted,
        evidence: counted
          ? 'the token exchange was answered with a quota'
          : 'an answer after the exchange showed one request counted of two',
      });
  };

  // What the answer says, as the store takes it: when the request went and came back, the status and the quota.
  const answerOf = (key: string, sentAt: number, at: number, response: Response, info: RateLimitInfo | undefined, sent?: Sent): Answer => {
    // A 403 that says it refused for the rate (GitHub's) is a 429 to the store and the learner.
    const limited = isRateLimited(response);
    const answer: Answer = { sentAt, at, status: limited ? 429 : response.status };
    // Most answers state no quota: nothing more to copy.
    if (info) Object.assign(answer, info);
    if (learner?.trustsQuota(key)) answer.quotaTrusted = true;
    if (limited) {
      // Refused with some of the quota left, others of its endpoint on their way: what it refused is requests in flight.
      if (sent && sent.inFlight >= 2 && (info?.remaining ?? 0) > 0) answer.concurrencyRefused = true;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), at);
      const stated = retryAfter === undefined ? info?.resetAt : at + retryAfter;
      answer.delayStated = stated !== undefined;
      answer.retryAt = stated ?? at + (learner ? learner.unstatedDelay(key, sentAt, at) : unstatedPause);
    }
    return answer;
  };

  // When the server counted an answered request at the latest: on arrival, its answer less the key's margin.
  const datedAt = (key: string, sentAt: number, at: number, alone: boolean | undefined) =>
    o.countedAt === 'answer' ? at : Math.max(sentAt, at - roundTrips.margin(key, at - sentAt, alone === true));

  // Frees the slot and learns from the outcome (`answer` set: the request ended with it), then lets waiters try: a
  // pause must be in place before they do. Returns the store's promise, if any.
  const finish = (key: string, lease: Lease, countedBy: number, answer?: Answer, quotas: AnnouncedQuota[] = [], sent?: Sent) => {
    const storeKey = leaseKeys.get(lease) ?? key;
    const outcome = lease.release(countedBy, answer);
    if (thenable(outcome)) return outcome.then((result) => settle(key, storeKey, answer, result, quotas, sent), noop);
    settle(key, storeKey, answer, outcome, quotas, sent);
  };

  const settle = (
    key: string,
    storeKey: string,
    answer: Answer | undefined,
    outcome: Outcome | undefined,
    quotas: AnnouncedQuota[],
    sent?: Sent,
  ) => {
    if (answer) report(storeKey, answer.at, outcome);
    if (answer && learner) learnFrom(storeKey, answer, quotas, sent);
    const q = queues.get(key);
    if (q) scan(key, q);
  };

  // An answer counted against another quota than the one its request went under (the first of its endpoint, or its
  // endpoint's quota changed): the lease ends as a request that told nothing, counted where it went (one more than the
  // server counted there: never too few); a 429 pauses the quota it names. That quota learns from its own requests.
  const countedElsewhere = (key: string, countedKey: string, { status, retryAt, at }: Answer) => {
    if (status !== 429 || retryAt === undefined) return;
    after(store.pause(countedKey, retryAt, at, rulesOf(countedKey)), (until) => {
      if (until) report(countedKey, at, { paused: { until, reason: '429' } });
      const q = queues.get(key);
      if (q) scan(key, q);
    });
  };

  return {
    name: 'rate-limit',
    setup(context) {
      env = context;
      const off = context.bus.on('rate-limit:exceeded', (e) => {
        const at = now();
        const key = e.keyId ?? new URL(e.url).origin;
        after(store.pause(key, at + (e.retryAfterMs ?? 0), at, rulesOf(key)), (until) => {
          if (until) report(key, at, { paused: { until, reason: '429' } });
        });
      });
      // Another process freed capacity of a key (a shared store says so): its waiters look again at once.
      const unheard = store.onFreed?.((key) => {
        const q = queues.get(key);
        if (q) scan(key, q);
      });
      return () => {
        closed = true;
        off();
        unheard?.();
        for (const [key, q] of queues) for (const w of q.all()) leave(key, q, w, new ClosedError('rate-limit'), 'closed');
      };
    },
    async handle(request, next, ctx) {
      env ??= ctx;
      if (closed) throw new ClosedError('rate-limit');
      const key = o.key(request, ctx);
      const endpoint = o.endpoint(request, ctx);
      const { priority, tokenExchange, onWait } = ctx.state;
      const call: Call = { key, endpoint, request, priority, tokenExchange, onWait };
      const waited = wait(call, ctx.signal);
      let lease: Lease | undefined = thenable(waited) ? await waited : waited;
      let sentAt = now();
      // The last step before the send may wait: auth-token waits there for a new token, whose exchange needs a slot of
      // this key. Meanwhile the request's slot may be taken for that exchange (released at -Infinity: it never counted);
      // it then queues again, first, and runs the step again (the token may have expired in the queue once more).
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
              return finish(key, given, Number.NEGATIVE_INFINITY, { sentAt, at: now() });
            },
          };
          // With a store shared by processes it is given back at once: a token exchange another process makes may
          // need it (its lock is what this one waits for), and that process cannot ask this one for it.
          if (fleet) holder.give();
          else holders.add(holder);
          return result.then(
            async (request) => {
              holders.delete(holder);
              if (lease) return request;
              lease = await enqueue({ ...call, request, priority: false }, true);
              return ready(request);
            },
            (error) => {
              // It will not be sent (aborted): its slot goes back unsent.
              if (holders.delete(holder) || lease) holder.give();
              throw error;
            },
          );
        };
        // The round trip starts when the request leaves, after any wait here.
        const leaving = (request: Request) => {
          sentAt = now();
          return request;
        };
        ctx.state.beforeSend = (outgoing) => {
          const result = ready(outgoing);
          return thenable(result) ? result.then(leaving) : leaving(result);
        };
      }
      let response: Response;
      const sent = learner ? depart(key, endpoint, call.waitedForKey) : undefined;
      try {
        response = await next(request);
      } catch (error) {
        const at = now();
        if (lease) finish(key, lease, at + o.marginMs, { sentAt, at }, [], sent);
        throw error;
      } finally {
        if (own) ctx.state.beforeSend = own;
        sent?.back();
      }
      const at = now();
      // Sent, so it holds a slot: the first one, or the one taken again.
      const held = lease as Lease;
      const leaseKey = leaseKeys.get(held) ?? key;
      const info = parseRateLimit(response.headers, at);
      const quotas = learner ? parseRateLimitPolicy(response.headers) : [];
      const scope = scopes && parseRateLimitScope(response.headers);
      const statedScope =
        scopes && !scope
          ? stated?.observe(key, endpoint, { sentAt, at, limit: info?.limit, windowMs: info?.windowMs, announced: quotas })
          : undefined;
      const named = scope || statedScope;
      const placed = scopes && named ? scopes.named(key, endpoint, named) : undefined;
      if (placed?.changed) nameQuotas(key, statedScope !== undefined);
      const countedKey = placed ? placed.storeKey : leaseKey;
      const answer = answerOf(countedKey, sentAt, at, response, info, sent);
      const countedBy = datedAt(key, sentAt, at, held.alone);
      if (countedKey !== leaseKey) {
        countedElsewhere(key, countedKey, answer);
        if (!o.holdUntilBodyDone) {
          finish(key, held, countedBy);
          return response;
        }
        return holdBody(response, () => finish(key, held, countedBy));
      }
      if (!o.holdUntilBodyDone) {
        finish(key, held, countedBy, answer, quotas, sent);
        return response;
      }
      after(held.observe(answer), (outcome) => {
        report(leaseKey, at, outcome);
        if (learner) learnFrom(leaseKey, answer, quotas, sent);
      });
      return holdBody(response, () => finish(key, held, countedBy));
    },
    stats() {
      const stats = { keys: queues.size, queued };
      if (!learner) return stats;
      return Object.defineProperty(stats, 'policies', { enumerable: true, get: () => learner.policies() });
    },
    policyOf: (key) => learner?.policyOf(key),
  };
}
