import type { Resolved } from './options.js';
import type { StoredToken } from './store.js';

/** A token in use, with the times that govern it. */
export interface Entry extends StoredToken {
  keyId: string;
  /** From here on, a request starts one background refresh. */
  refreshAt: number;
  /** From here on, the token is treated as expired and requests wait for a new one. */
  staleAt: number;
  /** The header value, once built. */
  header?: string;
  /** A call went out with it: only then does a timer refresh it (a token nobody could use yet needs no successor). */
  used?: boolean;
}

/** The stale margin takes at most this share of a lifetime: a 3 s token stays in use for 2.85 s. */
const MAX_MARGIN_SHARE = 0.05;
/** The refresh lead grows with a slow exchange up to this share of a lifetime: 1 / (1 - 0.23) ≈ 1.3 exchanges per lifetime. */
const MAX_LEAD_SHARE = 0.23;

/**
 * The refresh policy, the same for a 3 s token and a 24 h one:
 * - the token is used until `skewMs` before it expires, at most 5% of its life;
 * - the next request from `refreshRatio` of its life before expiry on (or `refreshWindowMs`, whichever is more, at most
 *   half the life) starts one background refresh;
 * - that lead grows until it covers the stale margin plus twice the time the exchange that produced this token took
 *   (from the refresh's start: key read, queue waits, retries), room for the next one to be as slow again, or to retry;
 * - but it grows to 23% of the life at most, so exchanges stay at or under 1.3 per lifetime. An exchange slower than
 *   about a fifth of the life cannot finish before the token goes stale: requests then wait for it.
 */
export function toEntry(keyId: string, stored: StoredToken, o: Resolved): Entry {
  const { issuedAt, expiresAt, latencyMs } = stored;
  const life = expiresAt - issuedAt;
  // A store that dropped it (or holds something else) plans the lead as for an instant exchange.
  const latency = Math.max(0, Number(latencyMs) || 0);
  const margin = Math.min(o.skewMs, life * MAX_MARGIN_SHARE);
  const planned = Math.min(Math.max(o.refreshRatio * life, o.refreshWindowMs), life / 2);
  const needed = Math.min(margin + 2 * latency, life * MAX_LEAD_SHARE);
  const staleAt = expiresAt - margin;
  const refreshAt = expiresAt - Math.max(planned, needed);
  return { ...stored, keyId, staleAt, refreshAt: Math.min(refreshAt, staleAt) };
}

/**
 * Reads the token answer: the token, or what is wrong with it. What is wrong never quotes the body,
 * which may hold a token. Without a lifetime field, a JWT's `exp` is used.
 */
export function parseAnswer(text: string, issuedAt: number, o: Resolved): StoredToken | string {
  let body: Record<string, unknown>;
  let exp: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const token = body?.[o.tokenField];
  const seconds = body?.[o.expiresInField];
  // Header values must be visible ASCII; anything else could not travel in the header anyway.
  if (typeof token !== 'string' || !/^[!-~]+$/.test(token)) return `no ${o.tokenField}`;
  if (seconds !== undefined) {
    // The type first: arithmetic on an object runs its toString, which may throw (`{"toString":{}}`).
    const expiresAt = typeof seconds === 'number' ? issuedAt + seconds * 1000 : Number.NaN;
    return expiresAt > issuedAt && expiresAt < Infinity ? { token, issuedAt, expiresAt } : `${o.expiresInField} not a positive number`;
  }
  try {
    exp = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch {}
  if (!((exp as number) >= 0 && (exp as number) < Infinity)) return `no ${o.expiresInField} nor JWT exp`;
  return (exp as number) > issuedAt ? { token, issuedAt, expiresAt: exp as number } : 'JWT exp in the past';
}
