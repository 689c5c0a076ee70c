import type { Clock } from '@sluice/core';

/**
 * Server time against client time. The server computes every rule (windows, token lifetime, key
 * expiry) in server time, `start + (now - start) * scale`, and converts what it sends back
 * (Retry-After, expires_in, X-RateLimit-Reset, JWT iat/exp) into client time, so a client on the
 * real clock sees values consistent with how fast the server's minute passes.
 */
export interface Timeline {
  readonly scale: number;
  /** Client epoch ms at which server time started: the first time anything asked (not construction). */
  origin(): number;
  /** Server time now, epoch milliseconds. */
  now(): number;
  /** A server duration as client milliseconds. */
  toClientMs(serverMs: number): number;
  /** A server instant as client epoch milliseconds. */
  toClientTime(serverAt: number): number;
}

// The origin is taken lazily: a server built in a Worker's global scope, where the clock does not
// run yet, starts its time at the first request instead.
export function createTimeline(clock: Clock, scale: number): Timeline {
  let start: number | undefined;
  const origin = () => (start ??= clock.now());
  return {
    scale,
    origin,
    now() {
      const o = origin();
      const t = clock.now();
      return scale === 1 ? t : o + (t - o) * scale;
    },
    toClientMs: (ms) => ms / scale,
    toClientTime: (at) => (scale === 1 ? at : origin() + (at - origin()) / scale),
  };
}

/** Delta-seconds for Retry-After: rounded up, at least 1. */
export function retryAfterSeconds(clientMs: number): number {
  return Math.max(1, Math.ceil(clientMs / 1000 - 1e-9));
}
