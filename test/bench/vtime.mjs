// Virtual time for the whole process, so clients that use the global timers (ky, ofetch, axios-retry, Azure) can be
// measured against the simulator over minutes or hours of traffic in a few seconds. setTimeout, clearTimeout,
// setInterval, clearInterval and Date.now read a clock that moves only when nothing else can run: then it jumps to
// the next timer. setImmediate and I/O stay real; they are how the driver lets promise chains settle.
const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  dateNow: Date.now,
};

const tick = () => new Promise((resolve) => real.setImmediate(resolve));

class Handle {
  constructor(id, timers) {
    this.id = id;
    this.timers = timers;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
  refresh() {
    const t = this.timers.get(this.id);
    if (t) t.due = t.now() + t.ms;
    return this;
  }
  [Symbol.toPrimitive]() {
    return this.id;
  }
}

/**
 * Installs virtual time starting at `start` (epoch ms). Returns the clock (for sluice and the simulator, which take
 * one), `run(done)` to drive it until `done()` holds, and `uninstall()`.
 */
export function installVirtualTime(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  const nowFn = () => now;
  const add = (fn, ms, args, repeat) => {
    const id = ++seq;
    const delay = Number.isFinite(Number(ms)) && Number(ms) > 0 ? Number(ms) : 0;
    timers.set(id, { id, due: now + delay, ms: delay, fn, args, repeat, now: nowFn });
    return new Handle(id, timers);
  };
  const clear = (handle) => {
    if (handle != null) timers.delete(typeof handle === 'object' ? handle.id : Number(handle));
  };
  globalThis.setTimeout = (fn, ms, ...args) => add(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => add(fn, ms, args, true);
  globalThis.clearTimeout = clear;
  globalThis.clearInterval = clear;
  Date.now = nowFn;

  const clock = {
    now: nowFn,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          clear(handle);
          reject(signal.reason);
        };
        const handle = add(
          () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          ms,
          [],
          false,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };

  const next = () => {
    let best;
    for (const t of timers.values()) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  };

  return {
    clock,
    get pending() {
      return timers.size;
    },
    /** Lets everything that can run without time passing run. */
    async settle(rounds = 3) {
      for (let i = 0; i < rounds; i++) await tick();
    },
    /**
     * Drives time until `done()`: settles, then jumps to the next timer and fires every timer due then.
     * With no timer left and `done()` false, waits a little real time (a crypto job), then gives up.
     */
    async run(done, { maxMs = Infinity } = {}) {
      let stuck = 0;
      for (;;) {
        await this.settle();
        if (done()) return;
        const first = next();
        if (!first) {
          if (++stuck > 200) throw new Error('virtual time: nothing scheduled and the work is not done');
          await new Promise((resolve) => real.setTimeout(resolve, 1));
          continue;
        }
        stuck = 0;
        if (first.due - start > maxMs) throw new Error(`virtual time: still running after ${maxMs} ms`);
        now = Math.max(now, first.due);
        for (let t = next(); t && t.due <= now; t = next()) {
          if (t.repeat) t.due = now + Math.max(1, t.ms);
          else timers.delete(t.id);
          try {
            t.fn(...t.args);
          } catch (error) {
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      }
    },
    /** Moves time forward by `ms`, firing timers on the way. */
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await this.settle();
        const first = next();
        if (!first || first.due > target) break;
        now = Math.max(now, first.due);
        for (let t = next(); t && t.due <= now; t = next()) {
          if (t.repeat) t.due = now + Math.max(1, t.ms);
          else timers.delete(t.id);
          t.fn(...t.args);
        }
      }
      now = target;
      await this.settle();
    },
    uninstall() {
      Object.assign(globalThis, {
        setTimeout: real.setTimeout,
        clearTimeout: real.clearTimeout,
        setInterval: real.setInterval,
        clearInterval: real.clearInterval,
      });
      Date.now = real.dateNow;
    },
  };
}
