import { parseRateLimit, parseRetryAfter } from '@sluice/core';

/**
 * Milliseconds the server asked the caller to wait, uncapped, or undefined. `Retry-After` wins; on a rate-limit
 * error (`limited`), the rate-limit reset (`X-RateLimit-Reset` or IETF `RateLimit`) stands in for it. On other
 * errors the reset is ignored: the reference API sends it with every response.
 */
export function retryAfterOf(headers: Headers, now: number, limited: boolean): number | undefined {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined || !limited) return retryAfter;
  const resetAt = parseRateLimit(headers, now)?.resetAt;
  return resetAt === undefined ? undefined : Math.max(0, resetAt - now);
}
