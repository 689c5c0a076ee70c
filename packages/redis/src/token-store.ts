import type { StoredToken, TokenStore } from '@sluice/auth-token';
import { type Clock, ClosedError, systemClock } from '@sluice/core';
import { LockTimeoutError } from './errors.js';
import { createGuard } from './guard.js';
import { defined, positive, type RedisStoreOptions, randomId, resolveCommon, tagged } from './options.js';
import { aesSealer, type EncryptionKey, plainSealer } from './seal.js';
import { DELETE_IF, GET, LOCK, SET, UNLOCK } from './token-scripts.js';

export interface RedisTokenStoreOptions extends RedisStoreOptions {
  /** Secret that encrypts tokens (AES-256-GCM). Every process of the fleet needs the same one. Required unless `insecurePlaintext`. */
  encryptionKey?: EncryptionKey;
  /** Store tokens unencrypted: anyone who can read Redis can call the API with them. @default false */
  insecurePlaintext?: boolean;
  /** Clock for the lock's expiry and waits: pass the pipeline's. @default systemClock */
  clock?: Clock;
  /** A lock whose holder stops renewing it (a crashed process) expires this long after its last renewal. @default 10000 */
  lockTtlMs?: number;
  /** Longest wait for another process's exchange; then `fail-open` exchanges anyway, `fail-closed` throws `LockTimeoutError`. @default 60000 */
  lockWaitMs?: number;
  /** How often a waiting process checks whether the lock is free. @default 50 */
  lockPollMs?: number;
}

/** A `TokenStore` whose `lock` is always there: one exchange per key for the whole fleet. */
export interface RedisTokenStore extends TokenStore {
  lock<T>(keyId: string, work: () => Promise<T>): Promise<T>;
  /**
   * Stops waiting for locks (those calls reject with `ClosedError`) and resolves once every lock this store took is released
   * and every command has settled. Call it after the pipeline's `close()`, which ends the work under a lock, and before
   * quitting the client: a lock left behind makes the rest of the fleet wait up to `lockTtlMs`. Other calls keep working.
   */
  close(): Promise<void>;
}

export const tokenStoreDefaults = Object.freeze({ lockTtlMs: 10_000, lockWaitMs: 60_000, lockPollMs: 50 });

const isToken = (v: Partial<StoredToken> | undefined): v is StoredToken =>
  typeof v?.token === 'string' && typeof v.issuedAt === 'number' && typeof v.expiresAt === 'number';

/** A `TokenStore` on Redis: one token per key for the fleet, encrypted, with a lock so one process exchanges for all. */
export function redisTokenStore(options: RedisTokenStoreOptions): RedisTokenStore {
  const common = resolveCommon(options);
  const { lockTtlMs, lockWaitMs, lockPollMs } = { ...tokenStoreDefaults, ...defined(options) };
  positive('lockTtlMs', lockTtlMs, 1);
  positive('lockWaitMs', lockWaitMs);
  positive('lockPollMs', lockPollMs, 1);
  if (options.insecurePlaintext !== true && options.encryptionKey === undefined)
    throw new TypeError('`encryptionKey` is required (or set `insecurePlaintext: true` to store usable tokens in Redis in the clear)');
  const plain = options.insecurePlaintext === true && options.encryptionKey === undefined;
  const sealer = plain ? plainSealer() : aesSealer(options.encryptionKey as EncryptionKey);
  const mode = plain ? 'p1' : 'e1';
  const clock = options.clock ?? systemClock;
  const guard = createGuard({ ...common, store: 'token', scripts: [GET, SET, DELETE_IF, LOCK, UNLOCK] });
  const key = (keyId: string) => tagged(common.prefix, 'token', keyId);

  // Locks held or awaited, and commands in flight: what close() waits for.
  const held = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    const forget = (): void => void held.delete(settled);
    const settled: Promise<void> = promise.then(forget, forget);
    held.add(settled);
    return promise;
  };

  // Fail-open answers `fallback`; fail-closed rethrows.
  const call = async <T>(operation: string, script: string, keys: string[], args: string[], fallback: T): Promise<unknown> => {
    const now = clock.now();
    if (guard.skip(now)) {
      if (guard.open) return fallback;
      throw guard.down(operation);
    }
    try {
      return await track(guard.call(operation, script, keys, args, now));
    } catch (error) {
      if (guard.open) return fallback;
      throw error;
    }
  };

  const read = async (keyId: string, raw: string): Promise<StoredToken | undefined> => {
    const [m, , ...rest] = raw.split('.');
    const text = m === mode ? await sealer.open(rest.join('.'), key(keyId)) : undefined;
    let value: Partial<StoredToken> | undefined;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {}
    if (isToken(value)) {
      const { token, issuedAt, expiresAt, latencyMs } = value;
      return typeof latencyMs === 'number' ? { token, issuedAt, expiresAt, latencyMs } : { token, issuedAt, expiresAt };
    }
    common.bus?.emit('redis:token-unreadable', { keyId });
    return undefined;
  };

  const closing = new AbortController();

  const store: RedisTokenStore = {
    async get(keyId) {
      const raw = await call('get', GET, [key(keyId)], [], undefined);
      return typeof raw === 'string' && raw ? read(keyId, raw) : undefined;
    },

    async set(keyId, token) {
      // The exchange's latency goes too: it sets when the next refresh starts, for whichever process makes it.
      const stored = { token: token.token, issuedAt: token.issuedAt, expiresAt: token.expiresAt, latencyMs: token.latencyMs };
      const value = `${mode}.${await sealer.fingerprint(token.token)}.${await sealer.seal(JSON.stringify(stored), key(keyId))}`;
      // The TTL only collects garbage: a minute past the token's end.
      const ttl = Math.max(1000, Math.ceil(token.expiresAt - clock.now())) + 60_000;
      await call('set', SET, [key(keyId)], [value, String(ttl)], undefined);
    },

    async delete(keyId, token) {
      await call('delete', DELETE_IF, [key(keyId)], [`${mode}.${await sealer.fingerprint(token)}.`], undefined);
    },

    lock(keyId, work) {
      return track(locked(keyId, work));
    },

    async close() {
      closing.abort(new ClosedError('redis token store'));
      do {
        while (held.size > 0) await Promise.all(held);
        await new Promise((resolve) => setTimeout(resolve, 0));
      } while (held.size > 0);
    },
  };

  async function locked<T>(keyId: string, work: () => Promise<T>): Promise<T> {
    const lockKey = `${key(keyId)}:lock`;
    const owner = randomId();
    const gc = String(Math.max(lockTtlMs * 10, 60_000));
    const take = () => call('lock', LOCK, [lockKey], [owner, String(clock.now()), String(clock.now() + lockTtlMs), gc], 'open');
    const start = clock.now();
    for (;;) {
      closing.signal.throwIfAborted();
      const got = await take();
      if (got === 'open') return work();
      if (Number(got) === 1) break;
      const waited = clock.now() - start;
      if (waited >= lockWaitMs) {
        if (!guard.open) throw new LockTimeoutError(keyId, waited);
        common.bus?.emit('redis:fallback', { store: 'token', operation: 'lock', reason: 'lock-timeout' });
        return work();
      }
      await clock.sleep(Math.min(lockPollMs, lockWaitMs - waited), closing.signal);
    }
    // Renewed while the work runs, so only a holder that died lets the lock expire.
    const working = new AbortController();
    (async () => {
      for (;;) {
        await clock.sleep(lockTtlMs / 3, working.signal);
        await take();
      }
    })().catch(() => {});
    try {
      return await work();
    } finally {
      working.abort();
      await call('lock', UNLOCK, [lockKey], [owner], undefined).catch(() => {});
    }
  }
  return store;
}
