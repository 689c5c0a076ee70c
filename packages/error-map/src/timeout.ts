import { type Clock, raceAbort } from '@sluice/core';
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
  // Aborted once the call settles: it ends the timer and removes the listener on the caller's signal.
  const done = new AbortController();
  const caller = request.signal;
  caller.addEventListener('abort', () => inner.abort(caller.reason), { signal: done.signal });
  clock.sleep(timeoutMs, done.signal).then(
    () => inner.abort(new TimeoutError(request.method, url, timeoutMs)),
    () => {},
  );
  try {
    // raceAbort settles with the signal's reason as soon as it aborts, even if something below ignores it.
    return await raceAbort(next(new Request(request, { signal: inner.signal })), inner.signal);
  } finally {
    done.abort();
  }
}
