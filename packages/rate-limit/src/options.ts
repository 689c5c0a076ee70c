import type { Context } from '@sluice/core';
import type { RateLimitStore } from './store.js';

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
   * An override, for a server that counts requests on arrival and whose send-to-arrival delays you know differ by less
   * than this: a request in flight then counts from its send plus `jitterMs`, and an answered one from the sooner of
   * that and its dating. @default none: requests in flight count until answered, answered ones as `countedAt` says
   */
  jitterMs?: number;
}

/** When the server counts a request: as it arrives (every rate limiter we know), or only once it has answered it. */
export type CountedAt = 'arrival' | 'answer';

export interface RateLimitOptions {
  /**
   * Rules that must all hold, per key; or `'auto'`: learnt per key from the server's answers (its `RateLimit-Policy`, a
   * stated limit and how its reset moves, else its 429s), one request at a time until something is learnt.
   * @default [{ limit: 60, windowMs: 60_000 }]
   */
  rules?: readonly Rule[] | 'auto';
  /**
   * With `rules: 'auto'`: the rules the server documents, held from the first request instead of a cautious start, and
   * corrected by what the answers show (a tighter announcement or stated limit at once; a looser one, or more left than
   * they allow, once `LOOSEN_AFTER` answers in a row say so). @default none: start with one request in flight
   */
  startFrom?: readonly Rule[];
  /** Requests in flight per endpoint of a key. @default 5 */
  concurrency?: number;
  /**
   * When the server counts a request. `'arrival'`: an answered request is dated at its answer's arrival less the
   * fastest round trip seen for its key (the way back and the next request's way there are taken to be no faster than
   * that round trip's). `'answer'`: dated at its answer's arrival, for a server that counts only once it has answered.
   * @default 'arrival'
   */
  countedAt?: CountedAt;
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
  countedAt: 'arrival' as CountedAt,
  marginMs: 1000,
  maxQueue: 1000,
  maxWaitMs: Number.POSITIVE_INFINITY,
  holdUntilBodyDone: false,
  leaseMs: 300_000,
  key: (request: Request, ctx: Context): string => ctx.state.keyId ?? new URL(request.url).origin,
  // The path sliced from the serialised URL: no URL object per request.
  endpoint: (request: Request, ctx: Context): string => ctx.state.endpoint ?? request.url.replace(/^[^/]*\/\/[^/]*|[?#].*/gs, ''),
}) satisfies Required<Omit<RateLimitOptions, 'store' | 'startFrom'>>;

export type Resolved = Required<Omit<RateLimitOptions, 'store' | 'rules' | 'startFrom'>> & Pick<RateLimitOptions, 'store'>;

const check = (name: string, value: number, min: number, integer?: boolean) => {
  if (!(value >= min) || (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY))
    throw new RangeError(`\`${name}\` must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
};

/** Checks each rule (jitterMs and burst may be left out; limit and windowMs may not); drops those with an infinite limit. */
const checkRules = (name: string, rules: readonly Rule[]) =>
  rules
    .map((rule: Rule, i) => {
      for (const [field, min, integer, optional] of [
        ['limit', 1, true],
        ['windowMs', 1],
        ['jitterMs', 0, false, true],
        ['burst', 1, true, true],
      ] as const)
        check(`${name}[${i}].${field}`, (optional ? (rule[field] ?? min) : rule[field]) as number, min, integer);
      return { ...rule, jitterMs: rule.jitterMs ?? Number.POSITIVE_INFINITY };
    })
    .filter((r) => r.limit < Number.POSITIVE_INFINITY);

/** Merges the options over the defaults once, checking each; rules with an infinite limit are dropped. */
export function resolveOptions(options: RateLimitOptions) {
  const o = { ...defaults, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RateLimitOptions) };
  for (const [name, min, integer] of [
    ['concurrency', 1, true],
    ['maxQueue', 0, true],
    ['marginMs', 0],
    ['maxWaitMs', 0],
    ['leaseMs', 1],
  ] as const)
    check(name, o[name], min, integer);
  if (o.countedAt !== 'arrival' && o.countedAt !== 'answer')
    throw new TypeError(`\`countedAt\` must be 'arrival' or 'answer', got ${JSON.stringify(o.countedAt)}`);
  const auto = o.rules === 'auto';
  if (auto && o.store && !o.store.takesLearntRules)
    throw new TypeError("`rules: 'auto'` needs a store that takes learnt rules (`takesLearntRules`: the memory store, the Redis store)");
  if (!auto && !Array.isArray(o.rules)) throw new TypeError("`rules` must be an array of { limit, windowMs }, or 'auto'");
  if (options.startFrom !== undefined && !auto) throw new TypeError("`startFrom` goes with `rules: 'auto'`: it is where learning starts");
  if (options.startFrom !== undefined && !Array.isArray(options.startFrom))
    throw new TypeError('`startFrom` must be an array of { limit, windowMs }');
  const rules = checkRules('rules', auto ? [] : (o.rules as readonly Rule[]));
  const startFrom = options.startFrom && checkRules('startFrom', options.startFrom);
  return { ...o, rules, auto, startFrom: startFrom?.length ? startFrom : undefined };
}
