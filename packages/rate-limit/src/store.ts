/** A rate rule as stores receive it (`jitterMs` resolved: `Infinity` when not set). */
export interface StoreRule {
  limit: number;
  windowMs: number;
  jitterMs: number;
}

export interface AcquireInput {
  key: string;
  endpoint: string;
  now: number;
  rules: readonly StoreRule[];
  /** Requests in flight per endpoint of the key. */
  concurrency: number;
  /** A slot not released after this long is taken back (a crashed process, a body never read). */
  leaseMs: number;
}

export interface Lease {
  ok: true;
  /** Number of this send among the key's sends, for `sync`. */
  seq: number;
  /**
   * The request is over: `countedBy` is the latest time the server can have counted it and still be busy with it
   * (its response's arrival, or a margin after it failed). Its slot is free from then, and it counts in the log until
   * `windowMs` after. Until released it holds its slot until `send + leaseMs`, and counts from
   * `send + min(jitterMs, leaseMs)`.
   */
  release(countedBy: number): unknown;
}

export type Acquired = Lease | { ok: false; retryAt: number };

/**
 * Where requests are counted. Each method is atomic for its key; a shared store (Redis, with a script
 * per method) gives a fleet the same guarantees as one process. Methods may return promises.
 */
export interface RateLimitStore {
  /** Checks the pause, the server's budget, every rule and the endpoint's slots; when all allow, logs the send and takes a slot. */
  acquire(input: AcquireInput): Acquired | Promise<Acquired>;
  /**
   * Holds the key until `until`, then lets one request go until a response to it arrives. `refused` (a 429):
   * the server is assumed full, so the log is filled to free one request per `windowMs / limit` after `until`.
   * Otherwise a pause that the log already enforces (within a second) is skipped. A budget already spent keeps the key
   * until its reset, whatever shorter `until` is asked. Resolves to the end of the pause, or 0 when it did not pause.
   */
  pause(key: string, until: number, now: number, rules: readonly StoreRule[], refused: boolean): number | Promise<number>;
  /** The response to send `seq` said `remaining` requests are left until `resetAt` (both undefined: no such headers). */
  sync(key: string, seq: number, now: number, remaining?: number, resetAt?: number): unknown;
}

interface KeyState {
  /** Per rule: ascending, the latest times at which the `limit` latest requests can have been counted. */
  l: number[][];
  /** The rules last used. */
  r: readonly StoreRule[];
  /** Per endpoint: expiry times of the slots held. */
  e: Map<string, number[]>;
  /** Paused until. */
  p: number;
  /** Server budget: `b` requests left until `t`, learnt from the response to send `s`. */
  b: number;
  t: number;
  s: number;
  /** Probing: after a pause, one request goes until a response to it (or a later send) arrives. */
  q?: boolean;
  /** Sends so far. */
  n: number;
}

export interface MemoryStore extends RateLimitStore {
  acquire(input: AcquireInput): Acquired;
  pause(key: string, until: number, now: number, rules: readonly StoreRule[], refused: boolean): number;
  /** Keys holding state. */
  readonly size: number;
  /** Drops the state of every idle key; returns how many keys remain. */
  prune(now: number): number;
}

const insert = (log: number[], value: number) => {
  let i = log.length;
  while (i > 0 && (log[i - 1] as number) > value) i--;
  log.splice(i, 0, value);
};

// The earliest time every rule allows one more request: its `limit`-th latest entry plus the window.
const free = (k: KeyState, rules: readonly StoreRule[]) =>
  Math.max(0, ...rules.map((r, i) => (k.l[i]?.at(-r.limit) ?? -Infinity) + r.windowMs));

/** The default store: one process's memory. Idle keys are dropped as traffic goes on, and by `prune`. */
export function createMemoryStore(): MemoryStore {
  const keys = new Map<string, KeyState>();
  const idle = (k: KeyState, now: number) =>
    now >= Math.max(k.p, k.t) &&
    k.r.every((r, i) => (k.l[i]?.at(-1) ?? 0) + r.windowMs <= now) &&
    [...k.e.values()].every((slots) => slots.every((t) => t <= now));
  // A cursor walks the keys, a few per call, so idle keys go without a timer.
  let cursor = keys.entries();
  const touch = (key: string, now: number) => {
    for (let i = 0; i < 3; i++) {
      let next = cursor.next();
      if (next.done) next = (cursor = keys.entries()).next();
      if (!next.done && idle(next.value[1], now)) keys.delete(next.value[0]);
    }
    let k = keys.get(key);
    if (!k) keys.set(key, (k = { l: [], r: [], e: new Map(), p: 0, b: 0, t: 0, s: 0, n: 0 }));
    return k;
  };

  return {
    acquire({ key, endpoint, now, rules, concurrency, leaseMs }) {
      const k = touch(key, now);
      // Endpoints with nothing in flight are forgotten (paths with ids in them would pile up).
      for (const [path, held] of k.e) if (held.every((t) => t <= now)) k.e.delete(path);
      const slots = (k.e.get(endpoint) ?? []).filter((t) => t > now);
      const at = Math.max(k.p, free(k, rules), now < k.t && k.b < 1 ? k.t : 0, slots.length < concurrency ? 0 : Math.min(...slots));
      if (at > now) return { ok: false, retryAt: at };
      const expiry = now + leaseMs;
      const until = (r: StoreRule) => now + Math.min(r.jitterMs, leaseMs);
      k.e.set(endpoint, [...slots, expiry]);
      k.r = rules;
      k.b--;
      rules.forEach((r, i) => {
        const log = (k.l[i] ??= []);
        insert(log, until(r));
        if (log.length > r.limit) log.shift();
      });
      return {
        ok: true,
        seq: k.n++,
        release(countedBy) {
          const held = k.e.get(endpoint) ?? [];
          const slot = held.indexOf(expiry);
          if (slot >= 0) held[slot] = Math.min(expiry, countedBy);
          rules.forEach((r, i) => {
            const log = k.l[i] ?? [];
            const j = log.lastIndexOf(until(r));
            if (j >= 0 && countedBy < until(r)) {
              log.splice(j, 1);
              insert(log, countedBy);
            }
          });
        },
      };
    },

    pause(key, at, now, rules, refused) {
      const k = touch(key, now);
      // A budget the server said is spent lasts to its reset, whatever shorter wait a 429 asks for.
      const until = Math.max(at, now < k.t && k.b < 1 && !k.q ? k.t : 0);
      if (until <= k.p || (!refused && until <= free(k, rules) + 1000)) return 0;
      k.p = until;
      k.r = rules;
      k.q = true;
      k.b = 1;
      k.s = k.n;
      k.t = until + Math.max(0, ...rules.map((r) => r.windowMs));
      // Assume the server full: the log frees one request per windowMs / limit from `until` on.
      if (refused)
        rules.forEach((r, i) => {
          const step = r.windowMs / r.limit;
          const fill = Array.from({ length: r.limit }, (_, j) => until - r.windowMs + j * step);
          k.l[i] = [...fill, ...(k.l[i] ?? []).filter((x) => x > until - step)].slice(-r.limit);
        });
      return until;
    },

    sync(key, seq, now, remaining, resetAt) {
      const k = keys.get(key);
      // Older news than the budget held: the server may not have counted what was sent since.
      if (!k || (seq < k.s && now < k.t)) return;
      if (k.q) k.q = false;
      else if (remaining === undefined) return;
      k.t = 0;
      if (remaining === undefined || resetAt === undefined) return;
      k.b = remaining - (k.n - seq - 1);
      k.t = resetAt;
      k.s = seq;
    },

    get size() {
      return keys.size;
    },

    prune(now) {
      for (const [key, k] of keys) if (idle(k, now)) keys.delete(key);
      return keys.size;
    },
  };
}
