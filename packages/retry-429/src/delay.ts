import { parseRateLimit, parseRetryAfter } from '@sluice/core';
import type { GeneratorFn } from 'cockatiel';

/**
 * Milliseconds the server asked us to wait, or undefined when it did not say. `Retry-After` wins: it answers
 * this very request. Failing that, on a 429 (`limited`), the rate-limit reset (`X-RateLimit-Reset`, or the IETF
 * `RateLimit` headers) says when the window reopens, the earliest a retry can succeed. The reference API sends
 * the reset on every response, so on a 503 it says nothing about when the service is back.
 */
export function serverDelay(headers: Headers, now: number, limited: boolean): number | undefined {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined || !limited) return retryAfter;
  const resetAt = parseRateLimit(headers, now)?.resetAt;
  return resetAt === undefined ? undefined : Math.max(0, resetAt - now);
}

/**
 * cockatiel's `decorrelatedJitterGenerator` (Polly's DecorrelatedJitterV2), drawing from `random` instead of
 * `Math.random` so tests and callers can make the jitter deterministic. cockatiel's own generator reads
 * `Math.random` directly, so it cannot honour an injected source.
 */
export function decorrelatedJitter(random: () => number): GeneratorFn<[number, number]> {
  return (state, options) => {
    const [attempt, previous] = state ?? [0, 0];
    const t = attempt + random();
    const next = options.exponent ** t * Math.tanh(Math.sqrt(4 * t));
    const delay = Number.isFinite(next) ? (Math.max(0, next - previous) / 1.4) * options.initialDelay : options.maxDelay;
    return [Math.min(delay, options.maxDelay), [attempt + 1, next]];
  };
}
