import type { StoreName } from './errors.js';

/** What went wrong with Redis: no answer within `commandTimeoutMs`, or an error (connection, script). */
export type FailureReason = 'timeout' | 'error';

declare module '@sluice/core' {
  interface SluiceEvents {
    /** fail-open: Redis failed, so the store works locally (this process alone) until Redis answers again. */
    'redis:fallback': { store: StoreName; operation: string; reason: FailureReason | 'lock-timeout' };
    /** fail-closed: Redis failed; the store's calls reject until Redis answers again. */
    'redis:unavailable': { store: StoreName; operation: string; reason: FailureReason };
    /** Redis answered again after `redis:fallback` or `redis:unavailable`, `downMs` after the first failure. */
    'redis:recovered': { store: StoreName; downMs: number };
    /** A stored token could not be decrypted (another `encryptionKey`, or tampered with); it is treated as absent. */
    'redis:token-unreadable': { keyId: string };
  }
}
