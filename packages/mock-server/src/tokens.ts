import type { Timeline } from './time.js';

/** Why a bearer token was refused. */
export type TokenProblem = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked';

export type TokenCheck = { ok: true; keyId: string } | { ok: false; reason: TokenProblem; keyId?: string };

interface TokenRecord {
  keyId: string;
  expiresAt: number;
  generation: number;
}

export interface TokenStore {
  /** Issues a JWT-shaped token for `keyId`, valid `ttlMs` of server time from now. */
  issue(keyId: string): { token: string; expiresAt: number };
  /** Checks an `Authorization` header value. */
  check(authorization: string | null): TokenCheck;
  /** Revokes every token issued so far; returns how many were live. */
  revokeAll(): number;
  /** Tokens remembered (live, plus expired or revoked ones not yet purged). */
  readonly size: number;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const encodeJson = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)));
const HEADER = encodeJson({ alg: 'HS256', typ: 'JWT' });

/**
 * Tokens are opaque to clients: the signature is random bytes and validity is looked up here.
 * Memory stays bounded: records are purged lazily once past expiry plus one lifetime (so "expired"
 * can still be told apart from "unknown" for a while), and at most `maxTokens` are kept.
 */
export function createTokenStore(options: { timeline: Timeline; ttlMs: number; maxTokens: number }): TokenStore {
  const { timeline, ttlMs, maxTokens } = options;
  const records = new Map<string, TokenRecord>();
  let generation = 0;
  let serial = 0;
  let nextSweep = Number.NEGATIVE_INFINITY;

  const sweep = (now: number) => {
    if (now < nextSweep) return;
    nextSweep = now + ttlMs / 4;
    for (const [token, record] of records) if (record.expiresAt + ttlMs <= now) records.delete(token);
  };

  return {
    issue(keyId) {
      const now = timeline.now();
      sweep(now);
      const expiresAt = now + ttlMs;
      const payload = {
        iss: 'sluice-mock',
        sub: keyId,
        iat: Math.floor(timeline.toClientTime(now) / 1000),
        exp: Math.floor(timeline.toClientTime(expiresAt) / 1000),
        jti: `${(++serial).toString(36)}`,
      };
      const token = `${HEADER}.${encodeJson(payload)}.${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
      records.set(token, { keyId, expiresAt, generation });
      while (records.size > maxTokens) records.delete(records.keys().next().value as string);
      return { token, expiresAt };
    },
    check(authorization) {
      if (authorization === null || authorization.trim() === '') return { ok: false, reason: 'missing' };
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization.trim());
      const token = match?.[1];
      if (token === undefined || !JWT.test(token)) return { ok: false, reason: 'malformed' };
      const record = records.get(token);
      if (!record) return { ok: false, reason: 'unknown' };
      if (record.generation < generation) return { ok: false, reason: 'revoked', keyId: record.keyId };
      if (timeline.now() >= record.expiresAt) return { ok: false, reason: 'expired', keyId: record.keyId };
      return { ok: true, keyId: record.keyId };
    },
    revokeAll() {
      const now = timeline.now();
      let live = 0;
      for (const record of records.values()) if (record.generation === generation && record.expiresAt > now) live++;
      generation++;
      return live;
    },
    get size() {
      return records.size;
    },
  };
}
