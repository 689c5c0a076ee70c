import {
  ClosedError,
  type Context,
  describeUrl,
  type EventBus,
  type Interceptor,
  type Next,
  prepareReplay,
  withHeaders,
} from '@sluice/core';
import { InvalidApiKeyError, TokenExchangeError } from './errors.js';
import type { TokenReason } from './events.js';
import { discard, exchange, type Flight } from './exchange.js';
import { keyFingerprint } from './fingerprint.js';
import { type ApiKeySource, type AuthTokenOptions, checkKey, resolve, toTime } from './options.js';
import { type Entry, toEntry } from './token.js';

export { AuthTokenError, InsecureTransportError, InvalidApiKeyError, TokenExchangeError, TokenResponseError } from './errors.js';
export type { TokenReason } from './events.js';
export { keyFingerprint } from './fingerprint.js';
export { type ApiKeySource, type AuthTokenOptions, authTokenDefaults } from './options.js';
export { memoryTokenStore, type StoredToken, type TokenStore } from './store.js';

export interface AuthTokenInterceptor extends Interceptor {
  /**
   * Switches to `apiKey` (or, without it, re-reads the provider). The next request starts the exchange,
   * in the background while the current token is valid; requests in flight keep their token. Resolves
   * once a token for the new key is in use; rejects, keeping the old key, if that exchange fails.
   */
  rotate(apiKey?: ApiKeySource, apiKeyExpiresAt?: Date | number | string): Promise<void>;
  /** Drops the cached token; the next request exchanges the key again. */
  invalidate(): void;
}

interface Rotation {
  source: ApiKeySource;
  expiresAt: number | undefined;
  started: boolean;
  done: (error?: unknown) => void;
}

const noop = () => {};

// Settles with `promise`, or with the signal's reason as soon as it aborts.
function race<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Exchanges an API key for access tokens and attaches them to requests for the token's origins. */
export function authToken(options: AuthTokenOptions): AuthTokenInterceptor {
  const o = resolve(options);
  const url = describeUrl(o.tokenUrl);
  // Its own signal: a refresh outlives the request that started it, and ends with close().
  const life = new AbortController();
  let source = o.apiKey;
  let keyExpiresAt = o.apiKeyExpiresAt;
  let warned = 0;
  let cached: Entry | undefined;
  let flight: Promise<Entry> | undefined;
  let rotation: Rotation | undefined;
  let nextReason: TokenReason = 'initial';
  let revoked: string | undefined;
  let setupBus: EventBus | undefined;

  const reader = (src: ApiKeySource) => async (): Promise<string> => {
    let key: unknown;
    try {
      key = typeof src === 'function' ? await src() : src;
    } catch (cause) {
      throw new TokenExchangeError('the API key provider threw', url, undefined, undefined, { cause });
    }
    if (typeof key !== 'string' || !key.trim()) throw new InvalidApiKeyError('the API key provider returned no key', url);
    return key.trim();
  };

  const warn = (keyId: string, bus: EventBus, now: number) => {
    if (keyExpiresAt === undefined) return;
    const remainingMs = keyExpiresAt - now;
    const crossed = o.keyExpiryWarningsMs.filter((t) => remainingMs <= t);
    if (crossed.length <= warned) return;
    warned = crossed.length;
    bus.emit('auth:key-expiring', { keyId, expiresAt: keyExpiresAt, remainingMs, thresholdMs: crossed[warned - 1] as number });
  };

  const acquire = async (f: Flight): Promise<Entry> => {
    life.signal.throwIfAborted();
    const key = await f.read();
    const keyId = await keyFingerprint(key);
    f.ctx.state.keyId ??= keyId;
    // Under the store's lock, if it has one: another process may have just stored a fresh token.
    const run = async () => {
      const stored = await o.store.get(keyId);
      const adopt = stored && stored.token !== revoked ? toEntry(keyId, stored, o) : undefined;
      if (adopt && f.ctx.clock.now() < adopt.refreshAt) return adopt;
      const entry = await exchange(f, key, keyId);
      await o.store.set(entry.keyId, { token: entry.token, issuedAt: entry.issuedAt, expiresAt: entry.expiresAt });
      return entry;
    };
    return o.store.lock ? o.store.lock(keyId, run) : run();
  };

  // The single flight: every caller that needs a token meanwhile shares this one promise.
  const start = (reason: TokenReason, ctx: Context, next: Next): Promise<Entry> => {
    const rot = reason === 'rotate' ? rotation : undefined;
    if (rot) rot.started = true;
    const began = ctx.clock.now();
    const f: Flight = { o, ctx, next, reason, signal: life.signal, read: reader(rot?.source ?? source), attempt: 0 };
    const settled = () => {
      flight = undefined;
      if (rotation === rot) rotation = undefined;
      return ctx.clock.now();
    };
    const promise = race(acquire(f), life.signal).then(
      (entry) => {
        const now = settled();
        if (rot) {
          source = rot.source;
          keyExpiresAt = rot.expiresAt;
          warned = 0;
        }
        cached = entry;
        nextReason = 'expired';
        ctx.bus.emit('auth:token-acquired', { keyId: entry.keyId, reason, expiresAt: entry.expiresAt, latencyMs: now - began });
        warn(entry.keyId, ctx.bus, now);
        rot?.done();
        return entry;
      },
      (error) => {
        const now = settled();
        // A failed background refresh is tried again halfway to the token's end, not on every request.
        if (cached) cached.refreshAt = now + (cached.staleAt - now) / 2;
        const { keyId = ctx.state.keyId, code = 'ERR_SLUICE_TOKEN_EXCHANGE', status } = error ?? {};
        ctx.bus.emit('auth:token-failed', { keyId, reason, attempt: f.attempt, code, status, delayMs: undefined });
        rot?.done(error);
        throw error;
      },
    );
    promise.catch(noop);
    flight = promise;
    return promise;
  };

  // Blocks only when there is no usable token; otherwise starts a refresh (or rotation) in the background.
  const tokenFor = (ctx: Context, next: Next, signal: AbortSignal): Promise<Entry> => {
    const now = ctx.clock.now();
    if (cached && now < cached.staleAt) {
      ctx.state.keyId = cached.keyId;
      if (!flight && (rotation || now >= cached.refreshAt)) start(rotation ? 'rotate' : 'refresh-ahead', ctx, next);
      return Promise.resolve(cached);
    }
    return race(flight ?? start(rotation ? 'rotate' : nextReason, ctx, next), signal);
  };

  const drop = (entry: Entry, bus: EventBus | undefined, reason: '401' | 'manual', request?: Request) => {
    cached = undefined;
    revoked = entry.token;
    nextReason = reason === '401' ? '401' : 'expired';
    o.store.delete(entry.keyId, entry.token).catch(noop);
    bus?.emit('auth:token-invalidated', {
      keyId: entry.keyId,
      reason,
      method: request?.method,
      url: request && describeUrl(request.url),
    });
  };

  return {
    name: 'auth-token',
    setup({ bus }) {
      setupBus = bus;
      return () => {
        const closed = new ClosedError('auth-token');
        life.abort(closed);
        rotation?.done(closed);
        rotation = undefined;
      };
    },
    async handle(request, next, ctx) {
      if (!o.origins.includes(new URL(request.url).origin)) return next(request);
      const { request: base, replayable } = await prepareReplay(request, ctx, o.maxReplayBytes);
      const send = (entry: Entry) => {
        ctx.state.keyId = entry.keyId;
        const patch = { [o.header]: o.scheme ? `${o.scheme} ${entry.token}` : entry.token };
        if (replayable) return next(withHeaders(base, patch));
        const headers = new Headers(base.headers);
        headers.set(o.header, patch[o.header] as string);
        return next(new Request(base, { headers }));
      };
      const entry = await tokenFor(ctx, next, request.signal);
      const response = await send(entry);
      if (response.status !== 401) return response;
      // Only the token that is still cached is dropped: a late 401 for a replaced one starts no exchange.
      if (cached === entry) drop(entry, ctx.bus, '401', request);
      if (!replayable) return response;
      discard(response);
      return send(await tokenFor(ctx, next, request.signal));
    },
    rotate(apiKey, apiKeyExpiresAt) {
      if (apiKey !== undefined) checkKey(apiKey);
      const expiresAt = apiKey === undefined ? keyExpiresAt : toTime('apiKeyExpiresAt', apiKeyExpiresAt);
      if (life.signal.aborted) return Promise.reject(life.signal.reason);
      let done!: (error?: unknown) => void;
      const promise = new Promise<void>((resolve, reject) => (done = (error) => (error === undefined ? resolve() : reject(error))));
      promise.catch(noop);
      // A rotation not started yet is superseded by this one, and settles with it.
      const previous = rotation && !rotation.started ? rotation : undefined;
      rotation = {
        source: apiKey ?? source,
        expiresAt,
        started: false,
        done: (error) => {
          previous?.done(error);
          done(error);
        },
      };
      return promise;
    },
    invalidate() {
      if (cached) drop(cached, setupBus, 'manual');
    },
  };
}
