export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** What was counted for a key, or for one endpoint of it. */
export interface Counts {
  /** Requests sent to the server: every attempt, retries and token exchanges included. */
  requests: number;
  /** Answers by status class. */
  responses: Record<StatusClass, number>;
  /** Requests that got no answer: network error or abort. */
  errors: number;
  /** 429 answers. */
  rateLimited: number;
  /** Requests sent again for the same call: retry-429's retries and auth-token's 401 replays. */
  retries: number;
  /** Requests that waited in rate-limit's queue. */
  queueWaits: number;
  /** Milliseconds they waited, added up. */
  queueWaitMs: number;
  /** Token exchanges answered 2xx. */
  tokenExchanges: number;
}

export const newCounts = (): Counts => ({
  requests: 0,
  responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
  errors: 0,
  rateLimited: 0,
  retries: 0,
  queueWaits: 0,
  queueWaitMs: 0,
  tokenExchanges: 0,
});

export const copyCounts = (c: Counts): Counts => ({ ...c, responses: { ...c.responses } });

export const statusClass = (status: number): StatusClass => `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as StatusClass;

export interface KeyState {
  totals: Counts;
  endpoints: Map<string, Counts>;
  /** Requests counted per slot of the window, a ring; `head` is the absolute number of the newest slot. */
  ring: Uint32Array;
  head: number;
  /** The last `X-RateLimit-Limit` seen; kept when later answers leave it out. */
  limit?: number;
  rateLimit?: { remaining?: number; resetAt?: number; limit?: number; seenAt: number };
  token?: { acquiredAt: number; expiresAt: number };
  keyExpiresAt?: number;
  lastLimitedAt?: number;
  high: boolean;
}

/** Slots of the usage window: one second each for a minute. */
export const SLOTS = 60;

export const newKey = (now: number, slotMs: number): KeyState => ({
  totals: newCounts(),
  endpoints: new Map(),
  ring: new Uint32Array(SLOTS),
  head: Math.floor(now / slotMs),
  high: false,
});

/** Moves the ring to `now`, zeroing the slots that left the window. */
function roll(k: KeyState, now: number, slotMs: number): void {
  const slot = Math.floor(now / slotMs);
  const gap = Math.min(slot - k.head, SLOTS);
  for (let i = 1; i <= gap; i++) k.ring[(k.head + i) % SLOTS] = 0;
  if (slot > k.head) k.head = slot;
}

export function countInWindow(k: KeyState, now: number, slotMs: number): void {
  roll(k, now, slotMs);
  k.ring[k.head % SLOTS]!++;
}

export function usedInWindow(k: KeyState, now: number, slotMs: number): number {
  roll(k, now, slotMs);
  return k.ring.reduce((a, b) => a + b, 0);
}

/** The entry for `key`, made most recently used; past `cap` entries the least recently used one is dropped. */
export function touch<V>(map: Map<string, V>, key: string, make: () => V, cap: number, onEvict: () => void): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    if (map.size >= cap) {
      map.delete(map.keys().next().value as string);
      onEvict();
    }
  } else map.delete(key);
  map.set(key, value);
  return value;
}
