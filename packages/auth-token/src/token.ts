import type { Resolved } from './options.js';
import type { StoredToken } from './store.js';

/** A token in use, with the times that govern it. */
export interface Entry extends StoredToken {
  keyId: string;
  /** From here on, a request starts one background refresh. */
  refreshAt: number;
  /** From here on, the token is treated as expired and requests wait for a new one. */
  staleAt: number;
}

/**
 * The simple rules: a token is used until `skewMs` before it expires, and refreshed in the background
 * once `refreshRatio` of its lifetime (or `refreshWindowMs`) is left. Short tokens get smaller margins,
 * so a 60 s token is not treated as always expired.
 */
export function toEntry(keyId: string, stored: StoredToken, o: Resolved): Entry {
  const lifetime = stored.expiresAt - stored.issuedAt;
  const staleAt = stored.expiresAt - Math.min(o.skewMs, lifetime / 4);
  const window = Math.min(Math.max(o.refreshRatio * lifetime, o.refreshWindowMs), lifetime / 2);
  return { ...stored, keyId, staleAt, refreshAt: Math.min(stored.expiresAt - window, staleAt) };
}

/** `exp` of a JWT, in epoch ms, or undefined when the token is not a JWT with a numeric `exp`. */
export function jwtExpiry(token: string): number | undefined {
  try {
    const exp = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))).exp;
    return typeof exp === 'number' && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the token answer. Returns the token or a description of what is wrong; the description never
 * quotes the body, which may hold a token.
 */
export function parseAnswer(text: string, issuedAt: number, o: Resolved): StoredToken | string {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const token = body?.[o.tokenField];
  // Header values must be visible ASCII; anything else cannot travel in the header anyway.
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) return `no usable ${o.tokenField}`;
  const seconds = body[o.expiresInField];
  if (seconds === undefined) {
    const expiresAt = jwtExpiry(token);
    if (expiresAt === undefined) return `no ${o.expiresInField} and no JWT exp`;
    return expiresAt > issuedAt ? { token, issuedAt, expiresAt } : 'JWT exp is in the past';
  }
  const expiresAt = typeof seconds === 'number' && seconds > 0 ? issuedAt + seconds * 1000 : Number.NaN;
  if (!Number.isFinite(expiresAt)) return `${o.expiresInField} is not a positive number`;
  return { token, issuedAt, expiresAt };
}
