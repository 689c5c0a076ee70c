/** Why a token was fetched. */
export type TokenReason = 'initial' | 'refresh-ahead' | 'expired' | '401' | 'rotate';

declare module '@sluice/core' {
  interface SluiceEvents {
    /** An exchange request is about to be sent (one per attempt). */
    'auth:token-requested': { keyId: string; reason: TokenReason; attempt: number; method: string; url: string };
    /** A token is in place. `expiresAt` is epoch ms, counted from when the exchange was sent. */
    'auth:token-acquired': { keyId: string; reason: TokenReason; expiresAt: number; latencyMs: number };
    /** An exchange attempt failed; `delayMs` is set when another attempt follows after that wait. */
    'auth:token-failed': {
      keyId: string | undefined;
      reason: TokenReason;
      attempt: number;
      code: string;
      status: number | undefined;
      delayMs: number | undefined;
    };
    /** The cached token was dropped: the API answered 401 to it, or `invalidate()` was called. */
    'auth:token-invalidated': { keyId: string; reason: '401' | 'manual'; method: string | undefined; url: string | undefined };
    /** The API key expires within `thresholdMs` (one event per threshold, per key). */
    'auth:key-expiring': { keyId: string; expiresAt: number; remainingMs: number; thresholdMs: number };
  }
}
