import { type Interceptor, onAbort, raceAbort, SluiceError } from '@sluice/core';
import { describeUrl } from '@sluice/core/http';

/** The deadline of `timeout()` (`@sluice/error-map/timeout`) ran out before a response arrived (retries and waits included). */
export class TimeoutError extends SluiceError {
  override name = 'TimeoutError';
  declare readonly method: string;
  declare readonly url: string;
  declare readonly timeoutMs: number;

  constructor(method: string, url: string, timeoutMs: number) {
    super('ERR_SLUICE_TIMEOUT', `timed out after ${timeoutMs} ms: ${method} ${url}`);
    Object.assign(this, { method, url, timeoutMs });
  }

  protected override safeFields(): readonly string[] {
    return ['method', 'url', 'timeoutMs'];
  }
}

export interface TimeoutOptions {
  /** Limit for the whole call below, retries, queueing and the token exchange included, until the response arrives; then `TimeoutError`. Required. */
  ms: number;
}

/**
 * A deadline for the whole call: sends the request below with a signal that the caller's abort and the timer
 * both end, so every wait below (retry pauses, rate-limit queues) is released when the time is up; rejects with
 * `TimeoutError` even when something below ignores the signal. Place it directly after `errorMap()`, which then
 * maps the `TimeoutError` (emits `error:mapped`).
 */
export function timeout(options: TimeoutOptions): Interceptor {
  const ms = options?.ms;
  if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`\`ms\` must be a positive number, got ${String(ms)}`);

  return {
    name: 'timeout',
    async handle(request, next, ctx) {
      const inner = new AbortController();
      // Aborted once the call settles: it ends the timer.
      const done = new AbortController();
      const caller = request.signal;
      const off = onAbort(caller, () => inner.abort(caller.reason));
      if (caller.aborted) inner.abort(caller.reason);
      ctx.clock.sleep(ms, done.signal).then(
        () => inner.abort(new TimeoutError(request.method, describeUrl(request.url), ms)),
        () => {},
      );
      try {
        // raceAbort settles with the signal's reason as soon as it aborts, even if something below ignores it.
        return await raceAbort(next(new Request(request, { signal: inner.signal })), inner.signal);
      } finally {
        done.abort();
        off();
      }
    },
  };
}
