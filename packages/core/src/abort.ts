// One listener per signal, however many calls wait on it: calls that share a signal (a shutdown signal, a Request
// reused for many calls) would otherwise add one each, and Node warns past 10.
const watches = new WeakMap<AbortSignal, { calls: Set<() => void>; fire: () => void }>();

/**
 * Calls `fn` once when `signal` aborts, unless the returned function is called first. `fn` must not throw.
 * A signal that has already aborted never calls it: check `signal.aborted` after subscribing.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let watch = watches.get(signal);
  if (!watch) {
    const calls = new Set<() => void>();
    // A closure per signal, not one listener reading `event.currentTarget`: Node clears that once an earlier
    // listener has aborted a signal that follows this one.
    const fire = () => {
      watches.delete(signal);
      for (const call of calls) call();
    };
    watches.set(signal, (watch = { calls, fire }));
    signal.addEventListener('abort', fire, { once: true });
  }
  const { calls, fire } = watch;
  calls.add(fn);
  return () => {
    // The last call to leave takes the listener off: nothing stays on a signal that outlives the calls.
    if (calls.delete(fn) && !calls.size && watches.get(signal) === watch) {
      watches.delete(signal);
      signal.removeEventListener('abort', fire);
    }
  };
}

/** Settles with `result`, or with the signal's reason the moment it aborts, whichever comes first. */
export function raceAbort<T>(result: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signal, () => reject(signal.reason));
    // The work's synchronous start may already have aborted it.
    if (signal.aborted) reject(signal.reason);
    result.then(
      (value) => {
        off();
        resolve(value);
      },
      (error) => {
        off();
        reject(error);
      },
    );
  });
}
