import type { Clock } from '@sluice/core';
import { TimeoutError } from './errors/transport.js';

/**
 * Sends `request` below with a signal that the caller's abort and the timer both end, so every wait below
 * (retry pauses, rate-limit queues) is released when the time is up; rejects with `TimeoutError` even when
 * something below ignores the signal.
 */
export async function sendWithin(
  timeoutMs: number,
  request: Request,
  next: (request: Request) => Promise<Response>,
  clock: Clock,
  url: string,
): Promise<Response> {
  const inner = new AbortController();
  // Aborted once the race is over: it ends the timer and removes the listener on the caller's signal.
  const done = new AbortController();
  const caller = request.signal;
  caller.addEventListener('abort', () => inner.abort(caller.reason), { signal: done.signal });
  let timedOut: TimeoutError | undefined;
  try {
    return await Promise.race([
      next(new Request(request, { signal: inner.signal })),
      clock.sleep(timeoutMs, done.signal).then(() => {
        timedOut = new TimeoutError(request.method, url, timeoutMs);
        inner.abort(timedOut);
        throw timedOut;
      }),
    ]);
  } catch (error) {
    // Whatever something below rejected with once the time was up, the call timed out.
    throw timedOut ?? error;
  } finally {
    done.abort();
  }
}
