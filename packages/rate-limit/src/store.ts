/** A rate rule as stores receive it (`jitterMs` resolved: `Infinity` when not set). */
export interface StoreRule {
  limit: number;
  windowMs: number;
  jitterMs: number;
  /** Set: a token bucket (GCRA) of `burst` refilled `limit` per `windowMs`. Unset: a sliding log of `limit` per `windowMs`. */
  burst?: number | undefined;
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
  /** Number of this send among the key's sends, for `sync`. Never reused by the store, even after the key's state is dropped. */
  seq: number;
  /**
   * The request is over: `countedBy` is the latest time the server can have counted it and still be busy with it
   * (its response's arrival, or a margin after it failed). Its slot is free from then, and it counts in the log until
   * `windowMs` after. Until released it holds its slot until `send + leaseMs`, and counts from
   * `send + min(jitterMs, leaseMs)`. A request that was not sent after all is released at `-Infinity`: it never counted.
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

/**
 * One rule's entries: the latest times at which recent requests can have been counted, ascending, live from `h` on
 * (the head moves instead of shifting the array). A log keeps those within the window; a bucket folds each one that
 * is past into `g`, its theoretical arrival time, and keeps those still ahead.
 */
interface Log {
  a: number[];
  h: number;
  g: number;
}

interface KeyState {
  l: Log[];
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
  /** The next send's number, and the first of this state's (answers to sends before it are from a dropped state). */
  n: number;
  z: number;
}

export interface MemoryStore extends RateLimitStore {
  acquire(input: AcquireInput): Acquired;
  pause(key: string, until: number, now: number, rules: readonly StoreRule[], refused: boolean): number;
  /** Keys holding state. */
  readonly size: number;
  /** Drops the state of every idle key; returns how many keys remain. */
  prune(now: number): number;
}

const insert = (log: Log, value: number) => {
  const { a } = log;
  let i = a.length;
  while (i > log.h && (a[i - 1] as number) > value) i--;
  a.splice(i, 0, value);
};

const logOf = (k: KeyState, i: number) => (k.l[i] ??= { a: [], h: 0, g: -Infinity });

// Drops (log) or folds (bucket) the entries `now` has passed, then reports the earliest time the rule allows one more:
// a log's `limit`-th latest entry plus the window; a bucket's GCRA, every entry still ahead taken as counted now.
const due = (log: Log, { burst, windowMs, limit }: StoreRule, now: number) => {
  const { a } = log;
  const step = windowMs / limit;
  while (log.h < a.length) {
    const x = a[log.h] as number;
    if (burst ? x > now : x + windowMs > now) break;
    if (burst) log.g = Math.max(log.g, x) + step;
    log.h++;
  }
  if (log.h * 2 > a.length) log.h = a.splice(0, log.h) && 0;
  const n = a.length - log.h;
  if (!burst) return n < limit ? 0 : (a[a.length - limit] as number) + windowMs;
  let at = log.g + (n - burst + 1) * step;
  for (let j = 0; j <= n - burst; j++) at = Math.max(at, (a[log.h + j] as number) + (n - j - burst + 1) * step);
  return at;
};

const free = (k: KeyState, rules: readonly StoreRule[], now: number) => {
  let at = 0;
  for (let i = 0; i < rules.length; i++) at = Math.max(at, due(logOf(k, i), rules[i] as StoreRule, now));
  return at;
};

/** The default store: one process's memory. Idle keys are dropped as traffic goes on, and by `prune`. */
export function createMemoryStore(): MemoryStore {
  const keys = new Map<string, KeyState>();
  // Sends are numbered store-wide, so a key whose state was dropped and made anew never reuses a number.
  let top = 0;
  // Nothing would differ for a new state: no pause, budget or slot, every log entry past its window, every bucket full.
  // It reads a copy, so the store changes only where a Redis script would.
  const idle = (k: KeyState, now: number) =>
    now >= Math.max(k.p, k.t) &&
    k.r.every((r, i) => {
      const log = { ...logOf(k, i) };
      log.a = log.a.slice();
      due(log, r, now);
      return log.h === log.a.length && log.g <= now;
    }) &&
    [...k.e.values()].every((slots) => slots.every((t) => t <= now));
  // A cursor walks the keys, a few per call, so idle keys go without a timer.
  let cursor = keys.entries();
  const touch = (key: string, now: number) => {
    for (let i = 0; i < 3 && keys.size > 1; i++) {
      let next = cursor.next();
      if (next.done) next = (cursor = keys.entries()).next();
      if (!next.done && next.value[0] !== key && idle(next.value[1], now)) keys.delete(next.value[0]);
    }
    let k = keys.get(key);
    if (!k) keys.set(key, (k = { l: [], r: [], e: new Map(), p: 0, b: 0, t: 0, s: 0, n: top, z: top }));
    return k;
  };

  return {
    acquire({ key, endpoint, now, rules, concurrency, leaseMs }) {
      const k = touch(key, now);
      // Endpoints with nothing in flight are forgotten (paths with ids in them would pile up).
      if (k.e.size > (k.e.has(endpoint) ? 1 : 0))
        for (const [path, held] of k.e) if (path !== endpoint && held.every((t) => t <= now)) k.e.delete(path);
      let slots = k.e.get(endpoint);
      if (!slots) k.e.set(endpoint, (slots = []));
      let held = 0;
      let soonest = Infinity;
      for (const t of slots) if (t > now) soonest = Math.min(soonest, (slots[held++] = t));
      slots.length = held;
      const at = Math.max(k.p, free(k, rules, now), now < k.t && k.b < 1 ? k.t : 0, held < concurrency ? 0 : soonest);
      if (at > now) return { ok: false, retryAt: at };
      const expiry = now + leaseMs;
      const until = (r: StoreRule) => now + Math.min(r.jitterMs, leaseMs);
      slots.push(expiry);
      k.r = rules;
      k.b--;
      for (let i = 0; i < rules.length; i++) insert(k.l[i] as Log, until(rules[i] as StoreRule));
      const seq = k.n++;
      top = Math.max(top, k.n);
      return {
        ok: true,
        seq,
        release(countedBy) {
          const held = k.e.get(endpoint) ?? [];
          const slot = held.indexOf(expiry);
          if (slot >= 0) held[slot] = Math.min(expiry, countedBy);
          rules.forEach((r, i) => {
            const log = k.l[i] as Log;
            const j = log.a.lastIndexOf(until(r));
            if (j >= log.h && countedBy < until(r)) {
              log.a.splice(j, 1);
              // Never sent: a bucket must not fold it in either.
              if (countedBy > -Infinity) insert(log, countedBy);
            }
          });
        },
      };
    },

    pause(key, at, now, rules, refused) {
      const k = touch(key, now);
      // A budget the server said is spent lasts to its reset, whatever shorter wait a 429 asks for.
      const until = Math.max(at, now < k.t && k.b < 1 && !k.q ? k.t : 0);
      if (until <= k.p || (!refused && until <= free(k, rules, now) + 1000)) return 0;
      k.p = until;
      k.r = rules;
      k.q = true;
      k.b = 1;
      k.s = k.n;
      k.t = until + Math.max(0, ...rules.map((r) => r.windowMs));
      // Assume the server full: from `until` on, it frees one request per windowMs / limit.
      if (refused)
        rules.forEach((r, i) => {
          const step = r.windowMs / r.limit;
          // What is counted by then is in the bucket before it empties.
          const log = logOf(k, i);
          due(log, r, r.burst ? until : now);
          if (r.burst) log.g = Math.max(log.g, until + (r.burst - 1) * step);
          else {
            const fill = Array.from({ length: r.limit }, (_, j) => until - r.windowMs + j * step);
            log.a = [...fill, ...log.a.slice(log.h).filter((x) => x > until - step)].slice(-r.limit);
            log.h = 0;
          }
        });
      return until;
    },

    sync(key, seq, now, remaining, resetAt) {
      const k = keys.get(key);
      // An answer to a send of a dropped state, or older news than the budget held: the server may not have counted
      // what was sent since.
      if (!k || seq < k.z || (seq < k.s && now < k.t)) return;
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
