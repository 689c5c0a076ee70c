// A virtual clock for sluice's injected `clock` that stays fast with tens of thousands of timers: they wait in a binary
// heap (a cancelled one is skipped when it comes up), and `run(done)` lets promise chains settle between instants.

import { createMinHeap } from './min-heap.mjs';

export function createHeapClock(start) {
  let now = start;
  const heap = createMinHeap();
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  return {
    now: () => now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const timer = { at: now + Math.max(0, Number.isFinite(ms) ? ms : 2 ** 31), fire: resolve };
        if (signal) {
          const onAbort = () => {
            timer.cancelled = true;
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
          timer.fire = () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          };
        }
        heap.push(timer);
      });
    },
    /** Fires timers instant by instant, settling promise chains between them, until `done()` holds. */
    async run(done, { maxMs = Number.POSITIVE_INFINITY } = {}) {
      for (let idle = 0; ; ) {
        await settle();
        if (done()) return;
        while (heap.size && heap.peek().cancelled) heap.pop();
        if (!heap.size) {
          // Work off the clock (crypto.subtle) may still be on its way.
          if (++idle > 200) throw new Error('virtual clock: nothing scheduled and the work is not done');
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        idle = 0;
        const at = heap.peek().at;
        if (at - start > maxMs) throw new Error(`virtual clock: still running after ${maxMs} ms`);
        now = Math.max(now, at);
        while (heap.size && heap.peek().at <= now) {
          const timer = heap.pop();
          if (!timer.cancelled) timer.fire();
        }
      }
    },
    get pending() {
      return heap.values().filter((t) => !t.cancelled).length;
    },
  };
}
