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
}

/**
 * The simple rules: a token is used until `skewMs` before it expires, and refreshed in the background
 * once `refreshRatio` of its lifetime (or `refreshWindowMs`) is left. Short tokens get smaller margins,
 * so a 60 s token is not treated as always expired.
 */
export function toEntry(keyId: string, stored: StoredToken, o: Resolved): Entry {
  const { issuedAt, expiresAt } = stored;
  const life = expiresAt - issuedAt;
  const staleAt = expiresAt - Math.min(o.skewMs, life / 4);
  const refreshAt = expiresAt - Math.min(Math.max(o.refreshRatio * life, o.refreshWindowMs), life / 2);
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
    const expiresAt = issuedAt + (seconds as number) * 1000;
    return typeof seconds === 'number' && expiresAt > issuedAt && expiresAt < Infinity
      ? { token, issuedAt, expiresAt }
      : `${o.expiresInField} not a positive number`;
  }
  try {
    exp = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch {}
  if (!((exp as number) >= 0 && (exp as number) < Infinity)) return `no ${o.expiresInField} nor JWT exp`;
  return (exp as number) > issuedAt ? { token, issuedAt, expiresAt: exp as number } : 'JWT exp in the past';
}
