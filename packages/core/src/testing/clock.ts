import { onAbort } from '../abort.js';
import type { Clock } from '../clock.js';

interface Timer {
  due: number;
  seq: number;
  fire: () => void;
}

/** A clock whose time moves only when a test says so. */
export interface TestClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due, in order, settling promises between. */
  advance(ms: number): Promise<void>;
  /** Moves time to the absolute epoch milliseconds `at`. */
  advanceTo(at: number): Promise<void>;
  /** Fires timers until none is left (bounded by `limit` timers, to catch runaway loops). */
  runAll(limit?: number): Promise<void>;
  /** Lets pending promise chains and I/O callbacks run without moving time. */
  flush(): Promise<void>;
  /** Timers waiting to fire. */
  readonly pending: number;
}

type Yield = (resolve: () => void) => void;
const macrotask: Yield =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? (resolve) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(resolve)
    : (resolve) => setTimeout(resolve, 0);

export function createTestClock(options: { now?: number; flushRounds?: number } = {}): TestClock {
  let now = options.now ?? Date.UTC(2026, 0, 1);
  const rounds = options.flushRounds ?? 4;
  let seq = 0;
  const timers: Timer[] = [];

  const flush = async () => {
    for (let i = 0; i < rounds; i++) await new Promise<void>(macrotask);
  };

  const nextDue = (limit: number): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers) if (t.due <= limit && (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq))) best = t;
    return best;
  };

  const fireUntil = async (target: number) => {
    await flush();
    for (let t = nextDue(target); t; t = nextDue(target)) {
      timers.splice(timers.indexOf(t), 1);
      now = Math.max(now, t.due);
      t.fire();
      await flush();
    }
    now = Math.max(now, target);
    await flush();
  };

  return {
    now: () => now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const timer: Timer = {
          due: now + (Number.isFinite(ms) && ms > 0 ? ms : 0),
          seq: seq++,
          fire: () => {
            off?.();
            resolve();
          },
        };
        const off =
          signal &&
          onAbort(signal, () => {
            const i = timers.indexOf(timer);
            if (i >= 0) timers.splice(i, 1);
            reject(signal.reason);
          });
        timers.push(timer);
      });
    },
    advance: (ms) => fireUntil(now + ms),
    advanceTo: (at) => fireUntil(at),
    async runAll(limit = 100_000) {
      for (let n = 0; timers.length > 0; n++) {
        if (n >= limit) throw new Error(`runAll: more than ${limit} timers fired; is a loop re-arming itself?`);
        const t = nextDue(Number.POSITIVE_INFINITY) as Timer;
        await fireUntil(t.due);
      }
    },
    flush,
    get pending() {
      return timers.length;
    },
  };
}
