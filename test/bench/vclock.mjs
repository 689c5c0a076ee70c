// A virtual clock for sluice's injected `clock` that stays fast with tens of thousands of timers: they wait in a binary
// heap (a cancelled one is skipped when it comes up), and `run(done)` lets promise chains settle between instants.

export function createHeapClock(start) {
  let now = start;
  let seq = 0;
  /** @type {{ at: number; seq: number; fire: () => void; cancelled?: boolean }[]} */
  const heap = [];
  const before = (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (timer) => {
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < heap.length && before(heap[l], heap[least])) least = l;
        if (r < heap.length && before(heap[r], heap[least])) least = r;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  return {
    now: () => now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const timer = { at: now + Math.max(0, Number.isFinite(ms) ? ms : 2 ** 31), seq: seq++, fire: resolve };
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
        push(timer);
      });
    },
    /** Fires timers instant by instant, settling promise chains between them, until `done()` holds. */
    async run(done, { maxMs = Number.POSITIVE_INFINITY } = {}) {
      for (let idle = 0; ; ) {
        await settle();
        if (done()) return;
        while (heap.length && heap[0].cancelled) pop();
        if (!heap.length) {
          // Work off the clock (crypto.subtle) may still be on its way.
          if (++idle > 200) throw new Error('virtual clock: nothing scheduled and the work is not done');
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        idle = 0;
        const at = heap[0].at;
        if (at - start > maxMs) throw new Error(`virtual clock: still running after ${maxMs} ms`);
        now = Math.max(now, at);
        while (heap.length && heap[0].at <= now) {
          const timer = pop();
          if (!timer.cancelled) timer.fire();
        }
      }
    },
    get pending() {
      return heap.filter((t) => !t.cancelled).length;
    },
  };
}
