/** A token as a store keeps it. Never holds the API key. */
export interface StoredToken {
  token: string;
  /** Epoch ms when the exchange that produced it was sent. */
  issuedAt: number;
  /** Epoch ms when the server lets it expire (counted from `issuedAt`). */
  expiresAt: number;
  /**
   * How long getting it took, in ms: from the start of the refresh (key read, queue waits, retries) to the answer.
   * The next refresh starts early enough for one twice as slow; a store that drops it plans as for an instant one.
   */
  latencyMs?: number;
}

/**
 * Where tokens live, per key fingerprint. auth-token reads the store only when it needs a token
 * (cold start, refresh, after a 401), so a shared store lets other processes reuse a token before
 * exchanging a key of their own.
 */
export interface TokenStore {
  get(keyId: string): Promise<StoredToken | undefined>;
  set(keyId: string, token: StoredToken): Promise<void>;
  /** Deletes the entry only while it still holds `token`: a newer token stays. */
  delete(keyId: string, token: string): Promise<void>;
  /**
   * Optional: runs `work` (read the store again, exchange if still needed, write) while holding a
   * lock on `keyId`, so one process of a fleet exchanges for everyone.
   */
  lock?<T>(keyId: string, work: () => Promise<T>): Promise<T>;
}

/** The default store: a `Map` in this process. */
export function memoryTokenStore(): TokenStore {
  const map = new Map<string, StoredToken>();
  return {
    get: async (keyId) => map.get(keyId),
    set: async (keyId, token) => void map.set(keyId, token),
    delete: async (keyId, token) => void (map.get(keyId)?.token === token && map.delete(keyId)),
  };
}
