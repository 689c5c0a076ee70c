import { hasCode, SluiceError, type SluiceErrorOptions } from '@sluice/core';

export type StoreName = 'rate-limit' | 'token';

/** Redis did not answer in time, or answered with an error, and the store fails closed (or the call could not fall back). */
export class RedisUnavailableError extends SluiceError {
  override name = 'RedisUnavailableError';

  constructor(
    /** Which store failed. */
    readonly store: StoreName,
    /** The store operation: `acquire`, `release`, `pause`, `share`, `sync`, `get`, `set`, `delete`, `lock`. */
    readonly operation: string,
    /** `timeout` (no answer within `commandTimeoutMs`), `down` (a recent failure, not retried yet) or `error`. */
    readonly reason: 'timeout' | 'down' | 'error',
    options?: SluiceErrorOptions,
  ) {
    super('ERR_SLUICE_REDIS_UNAVAILABLE', `redis ${store} store unavailable (${reason}): ${operation}`, options);
  }

  protected override safeFields() {
    return ['store', 'operation', 'reason'];
  }
}

/** The token store waited `lockWaitMs` for another process's exchange and fails closed. */
export class LockTimeoutError extends SluiceError {
  override name = 'LockTimeoutError';

  constructor(
    readonly keyId: string,
    readonly waitedMs: number,
  ) {
    super('ERR_SLUICE_REDIS_LOCK_TIMEOUT', `redis token lock for key ${keyId} not acquired within ${waitedMs} ms`);
  }

  protected override safeFields() {
    return ['keyId', 'waitedMs'];
  }
}

export const isRedisUnavailableError = (value: unknown): value is RedisUnavailableError => hasCode(value, 'ERR_SLUICE_REDIS_UNAVAILABLE');
export const isLockTimeoutError = (value: unknown): value is LockTimeoutError => hasCode(value, 'ERR_SLUICE_REDIS_LOCK_TIMEOUT');
