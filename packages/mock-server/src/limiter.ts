import type { Algorithm } from './options.js';

export interface LimitState {
  /** Requests left before a 429. */
  remaining: number;
  /** Server epoch ms of the next reset (see `createLimiter`). */
  resetAt: number;
}

export interface LimitDecision extends LimitState {
  allowed: boolean;
  /** When refused: server epoch ms at which one request will be allowed again. */
  retryAt: number;
}

/** Counts one key's requests. Requests are counted at arrival; refused ones are not counted. */
export interface Limiter {
  take(now: number): LimitDecision;
  peek(now: number): LimitState;
}

/**
 * One limiter per API key. What `resetAt` (sent as X-RateLimit-Reset) means differs by algorithm:
 * - fixed-window: the end of the current window (windows aligned to multiples of `windowMs`);
 * - sliding-log: when the oldest counted request leaves the window, so one more is allowed (now if none);
 * - token-bucket (capacity `limit`, refilling `limit` per `windowMs`): when the next whole token is back (now if full).
 */
export function createLimiter(algorithm: Algorithm, limit: number, windowMs: number): Limiter {
  if (algorithm === 'fixed-window') return fixedWindow(limit, windowMs);
  if (algorithm === 'token-bucket') return tokenBucket(limit, windowMs);
  return slidingLog(limit, windowMs);
}

function decide(state: LimitState, allowed: boolean, retryAt: number): LimitDecision {
  return { ...state, allowed, retryAt };
}

function slidingLog(limit: number, windowMs: number): Limiter {
  const log: number[] = [];
  const peek = (now: number): LimitState => {
    while (log.length > 0 && (log[0] as number) + windowMs <= now) log.shift();
    return { remaining: limit - log.length, resetAt: log.length > 0 ? (log[0] as number) + windowMs : now };
  };
  return {
    peek,
    take(now) {
      const before = peek(now);
      if (before.remaining <= 0) return decide(before, false, before.resetAt);
      log.push(now);
      return decide(peek(now), true, now);
    },
  };
}

function fixedWindow(limit: number, windowMs: number): Limiter {
  let start = Number.NEGATIVE_INFINITY;
  let count = 0;
  const peek = (now: number): LimitState => {
    const current = Math.floor(now / windowMs) * windowMs;
    if (current !== start) {
      start = current;
      count = 0;
    }
    return { remaining: limit - count, resetAt: start + windowMs };
  };
  return {
    peek,
    take(now) {
      const before = peek(now);
      if (before.remaining <= 0) return decide(before, false, before.resetAt);
      count++;
      return decide(peek(now), true, now);
    },
  };
}

// Level is kept in "token-milliseconds" (one token = windowMs units, refilling `limit` units per ms)
// so whole-second refills stay exact integers at time scale 1.
function tokenBucket(limit: number, windowMs: number): Limiter {
  const capacity = limit * windowMs;
  let level = capacity;
  let last: number | undefined;
  const peek = (now: number): LimitState => {
    if (last !== undefined && now > last) level = Math.min(capacity, level + (now - last) * limit);
    if (last === undefined || now > last) last = now;
    const remaining = Math.floor(level / windowMs);
    const resetAt = level >= capacity ? now : now + (windowMs - (level - remaining * windowMs)) / limit;
    return { remaining, resetAt };
  };
  return {
    peek,
    take(now) {
      const before = peek(now);
      if (before.remaining <= 0) return decide(before, false, before.resetAt);
      level -= windowMs;
      return decide(peek(now), true, now);
    },
  };
}
