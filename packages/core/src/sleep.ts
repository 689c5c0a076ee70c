import { onAbort } from './abort.js';

// setTimeout stores its delay as a signed 32-bit integer; longer waits are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An abortable sleep on real timers (`Infinity` waits for the signal). Rejects with the signal's reason and clears its timer at once. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    signal?.throwIfAborted();
    let timer: ReturnType<typeof setTimeout>;
    const off = signal
      ? onAbort(signal, () => {
          clearTimeout(timer);
          reject(signal.reason);
        })
      : undefined;
    const arm = (left: number) => {
      timer = setTimeout(
        () => {
          if (left > MAX_TIMER_MS) return arm(left - MAX_TIMER_MS);
          off?.();
          resolve();
        },
        Math.min(left, MAX_TIMER_MS),
      );
    };
    // biome-ignore lint/complexity/useMathMinMax: NaN must become 0, and Math.max(NaN, 0) is NaN.
    arm(ms > 0 ? ms : 0);
  });
}
