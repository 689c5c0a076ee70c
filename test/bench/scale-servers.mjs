// Server models for the scale matrix, each cheap at any limit: a sliding log (a list read from a moving head), a fixed
// window (windows aligned to multiples of windowMs since the epoch), a token bucket (GCRA, burst = limit). Each counts a
// request on arrival and answers with the quota headers a server of its kind sends: none, X-RateLimit-* (reset in
// whole epoch seconds, rounded up) or the IETF draft's RateLimit (reset in whole seconds from now) with RateLimit-Policy.

/** @typedef {'sliding' | 'fixed' | 'bucket'} Kind */
/** @typedef {'none' | 'x-ratelimit' | 'ietf'} HeaderForm */

/** A counter of one key's requests: `admit(now)` counts a request when it fits; `quota(now)` is what headers state. */
export function counter(kind, limit, windowMs) {
  let log = [];
  let head = 0;
  let windowIndex = Number.NEGATIVE_INFINITY;
  let inWindow = 0;
  let tokens = limit;
  let last;
  const roll = (now) => {
    if (kind === 'sliding') {
      while (head < log.length && log[head] <= now - windowMs) head++;
      if (head > 4096 && head * 2 > log.length) [log, head] = [log.slice(head), 0];
    } else if (kind === 'fixed') {
      const index = Math.floor(now / windowMs);
      if (index !== windowIndex) [windowIndex, inWindow] = [index, 0];
    } else {
      if (last !== undefined) tokens = Math.min(limit, tokens + ((now - last) * limit) / windowMs);
      last = now;
    }
  };
  return {
    admit(now) {
      roll(now);
      if (kind === 'sliding') {
        if (log.length - head >= limit) return false;
        log.push(now);
      } else if (kind === 'fixed') {
        if (inWindow >= limit) return false;
        inWindow++;
      } else {
        if (tokens < 1) return false;
        tokens -= 1;
      }
      return true;
    },
    /** Requests left, and the epoch ms at which the quota is restored: one more (sliding, bucket) or all (fixed). */
    quota(now) {
      roll(now);
      if (kind === 'sliding') return { remaining: limit - (log.length - head), resetAt: log.length > head ? log[head] + windowMs : now };
      if (kind === 'fixed') return { remaining: limit - inWindow, resetAt: (windowIndex + 1) * windowMs };
      return { remaining: Math.floor(tokens), resetAt: tokens >= 1 ? now : now + ((1 - tokens) * windowMs) / limit };
    },
  };
}

/** The headers of an answer at `now`, in the given form. */
export function quotaHeaders(form, limit, windowMs, { remaining, resetAt }, now) {
  if (form === 'x-ratelimit')
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.ceil(resetAt / 1000)),
    };
  if (form === 'ietf')
    return {
      ratelimit: `limit=${limit}, remaining=${remaining}, reset=${Math.ceil(Math.max(0, resetAt - now) / 1000)}`,
      'ratelimit-policy': `${limit};w=${windowMs / 1000}`,
    };
  return {};
}

/** The least time any client could take for `count` requests issued at once, each counted `latency` after its send and answered `latency` later. */
export function leastTime(kind, count, limit, windowMs, latency) {
  if (count <= limit || (kind === 'bucket' && count <= limit)) return 2 * latency;
  if (kind === 'bucket') return ((count - limit) * windowMs) / limit + 2 * latency;
  // A sliding log, or a fixed window entered at its start: the k-th batch of `limit` goes k windows on.
  return Math.floor((count - 1) / limit) * windowMs + 2 * latency;
}
