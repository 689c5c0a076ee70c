import { type Clock, ClosedError, type Context, type Interceptor, type Next, onAbort, raceAbort } from '@sluice/core';
import { describeUrl, isRateLimited, type KeptRequest, keepForReplay, serverDelay } from '@sluice/core/http';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { type Budget, createBudget, type RetryBudget } from './budget.js';
import { decorrelatedJitter } from './delay.js';
import type { ExhaustedReason, RetryReason } from './events.js';

export type { RetryBudget } from './budget.js';
export type { ExhaustedReason, RetryReason } from './events.js';

export interface Retry429Options {
  /** Retries after the first attempt, per call. @default 3 */
  maxRetries?: number;
  /**
   * Longest wait before a retry, in ms. When the server asks for longer, there is no wait and no early retry:
   * the caller gets the 429 at once (error-map turns it into a `RateLimitError` with the full `retryAfterMs`).
   * Also caps the backoff. @default 60_000
   */
  maxDelayMs?: number;
  /** Scale of the jittered exponential backoff used when the server gives no wait. @default 1000 */
  baseDelayMs?: number;
  /** Also retry 503 responses, for `methods` only. @default true */
  retry503?: boolean;
  /** Also retry network errors (a `TypeError` from the transport), for `methods` only. @default true */
  retryNetworkErrors?: boolean;
  /**
   * Methods whose 503s and network errors are retried (they may have reached the server). 429s are retried
   * for every method: the server refused the request without acting on it.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  methods?: readonly string[];
  /**
   * Largest one-shot `ReadableStream` body (or body of a caller's own `Request`) kept in memory, as it flows, to replay;
   * a larger one is sent once, never retried. @default 1_048_576
   */
  maxBufferBytes?: number;
  /** Caps retries as a share of recent requests. @default undefined (no cap) */
  budget?: RetryBudget;
  /** Source of randomness in [0, 1) for the backoff jitter. @default Math.random */
  random?: () => number;
}

export const retry429Defaults = Object.freeze({
  maxRetries: 3,
  maxDelayMs: 60_000,
  baseDelayMs: 1000,
  retry503: true,
  retryNetworkErrors: true,
  methods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']),
  maxBufferBytes: 1_048_576,
  random: Math.random,
}) satisfies Required<Omit<Retry429Options, 'budget'>>;

const isDelay = (n: unknown) => Number.isFinite(n) && (n as number) >= 0;

function check(name: string, value: unknown, ok = isDelay(value), expected = 'a non-negative number'): void {
  if (!ok) throw new RangeError(`\`${name}\` must be ${expected}, got ${String(value)}`);
}

function normalize(options: Retry429Options) {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...retry429Defaults, ...given } as typeof retry429Defaults & Pick<Retry429Options, 'budget'>;
  for (const name of ['maxRetries', 'maxBufferBytes'] as const) {
    check(name, o[name], Number.isInteger(o[name]) && o[name] >= 0, 'a non-negative integer');
  }
  for (const name of ['maxDelayMs', 'baseDelayMs'] as const) check(name, o[name]);
  check('methods', o.methods, Array.isArray(o.methods), 'an array of method names');
  check('random', o.random, typeof o.random === 'function', 'a function');
  const b = o.budget;
  if (b) {
    check('budget.ratio', b.ratio);
    check('budget.minPerSecond', b.minPerSecond ?? 0);
    check('budget.windowMs', b.windowMs, b.windowMs === undefined || (isDelay(b.windowMs) && b.windowMs > 0), 'a positive number');
  }
  return o;
}

const isNetworkError = (error: unknown) => (error as Error | null)?.name === 'TypeError';

/** Retries 429s (and, for idempotent methods, 503s and network errors), waiting as long as the server asks. */
export function retry429(options: Retry429Options = {}): Interceptor {
  const o = normalize(options);
  const methods = new Set(o.methods.map((m) => m.toUpperCase()));
  const backoff = new ExponentialBackoff({ initialDelay: o.baseDelayMs, maxDelay: o.maxDelayMs, generator: decorrelatedJitter(o.random) });
  const waits = new Set<AbortController>();
  let budget: Budget | undefined;
  let closed: ClosedError | undefined;

  // Sleeps on the pipeline's clock; the request's signal or close() ends the wait and frees its timer at once.
  async function wait(delayMs: number, signal: AbortSignal, clock: Clock): Promise<void> {
    if (closed) throw closed;
    const waiting = new AbortController();
    const off = onAbort(signal, () => waiting.abort(signal.reason));
    if (signal.aborted) waiting.abort(signal.reason);
    waits.add(waiting);
    try {
      await clock.sleep(delayMs, waiting.signal);
    } finally {
      waits.delete(waiting);
      off();
    }
  }

  // Sends `kept` until an answer is final: not a 429 (or a retried 503 or network error), or no retry is left.
  async function attempts(request: Request, next: Next, ctx: Context, kept: KeptRequest): Promise<Response> {
    const { bus, clock } = ctx;
    const method = request.method;
    const idempotent = methods.has(method.toUpperCase());
    const first = ctx.attempt;
    let step: IBackoff<unknown> | undefined;
    let attempt = kept.first;
    for (let retries = 0; ; retries++) {
      ctx.attempt = first + retries;
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await next(attempt);
      } catch (error) {
        if (!(o.retryNetworkErrors && idempotent && isNetworkError(error)) || request.signal.aborted) throw error;
        failure = error;
      }
      const status = response?.status;
      // A 403 that says it refused for the rate (GitHub's) is retried as a 429.
      const limited = response !== undefined && isRateLimited(response);
      if (status !== undefined && !limited && status !== 503) return response as Response;
      const url = describeUrl(request.url);
      const reason: RetryReason | undefined = limited
        ? 'rate-limited'
        : status === undefined
          ? 'network-error'
          : status === 503 && o.retry503 && idempotent
            ? 'unavailable'
            : undefined;
      if (!reason) return response as Response;
      const asked = response && serverDelay(response.headers, clock.now(), limited);
      if (limited) bus.emit('rate-limit:exceeded', { keyId: ctx.state.keyId, retryAfterMs: asked, method, url });
      let stop: ExhaustedReason | undefined =
        retries >= o.maxRetries ? 'max-retries' : asked !== undefined && asked > o.maxDelayMs ? 'delay-too-long' : undefined;
      // A stream's copy may still be filling (the server answered before reading it all): it waits for the rest.
      const copy = stop ? undefined : await raceAbort(kept.again(), request.signal);
      if (!stop && !copy) stop = 'body-not-replayable';
      if (!stop && budget && !budget.retry()) stop = 'budget-exhausted';
      if (stop) {
        bus.emit('retry:exhausted', { method, url, attempts: retries + 1, status, reason: stop });
        if (response) return response;
        throw failure;
      }
      let delayMs = asked;
      if (delayMs === undefined) {
        step = step ? step.next(undefined) : backoff.next();
        delayMs = Math.ceil(step.duration);
      }
      bus.emit('retry:scheduled', { method, url, attempt: ctx.attempt + 1, delayMs, reason });
      // Free the connection behind a response nobody will read.
      response?.body?.cancel().catch(() => {});
      await wait(delayMs, request.signal, clock);
      attempt = copy as Request;
    }
  }

  return {
    name: 'retry-429',
    setup() {
      return () => {
        closed = new ClosedError('retry-429');
        for (const waiting of waits) waiting.abort(closed);
      };
    },
    handle(request, next, ctx: Context) {
      budget ??= o.budget && createBudget(o.budget, ctx.clock);
      budget?.request();
      // The first attempt streams the body as it comes; a copy for a replay is kept meanwhile (a stream's up to the cap).
      const kept = keepForReplay(request, ctx, o.maxBufferBytes);
      return attempts(request, next, ctx, kept).finally(kept.release);
    },
  };
}
