import { ClosedError, type Context, type EventBus, type Interceptor, isSluiceError, type Next, raceAbort } from '@sluice/core';
import { describeUrl, keepForReplay } from '@sluice/core/http';
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
   * Switches to `apiKey` (without it: reads the provider again). The next request starts the exchange,
   * in the background while the current token is valid; requests in flight keep their token. The outcome
   * is `auth:token-acquired` or `auth:token-failed` with reason `rotate`; on failure the old key stays.
   */
  rotate(apiKey?: ApiKeySource, apiKeyExpiresAt?: Date | number | string): void;
  /** Drops the cached token; the next request exchanges the key again. */
  invalidate(): void;
}

const noop = () => {};

/** New tokens one call may wait for at send time, when its token expires in a queue below. */
const MAX_SEND_WAITS = 2;

/** Exchanges an API key for access tokens and attaches them to requests for the token's origins. */
export function authToken(options: AuthTokenOptions): AuthTokenInterceptor {
  const o = resolve(options);
  const url = describeUrl(o.tokenUrl);
  const prefixes = o.origins.map((origin) => `${origin}/`);
  const customHeader = o.header.toLowerCase() !== 'authorization';
  const copyWithHeader = (request: Request, value: string): Request => {
    const headers = new Headers(request.headers);
    headers.set(o.header, value);
    return new Request(request, { headers });
  };
  // Sets the header in place; headers some runtimes keep immutable (a Worker's incoming request) take a copy.
  const withHeader = (request: Request, value: string): Request => {
    try {
      request.headers.set(o.header, value);
      return request;
    } catch {
      return copyWithHeader(request, value);
    }
  };
  // Built once per token, not per request.
  const value = (entry: Entry) => (entry.header ??= o.scheme ? `${o.scheme} ${entry.token}` : entry.token);
  // A serialised http(s) URL starts with its origin and a slash: no URL parse per request.
  const ours = (href: string) => {
    for (let i = 0; i < prefixes.length; i++) if (href.startsWith(prefixes[i] as string)) return true;
    return false;
  };
  // Flights have their own signal: a refresh outlives the request that started it, and ends with close().
  const life = new AbortController();
  let source = o.apiKey;
  let keyExpiresAt = o.apiKeyExpiresAt;
  let warned = 0;
  let cached: Entry | undefined;
  let flight: Promise<Entry> | undefined;
  let rotation: [ApiKeySource, number | undefined] | undefined;
  let nextReason: TokenReason = 'initial';
  let revoked: string | undefined;
  let setupBus: EventBus | undefined;
  // Calls that wait in a queue below (rate-limit's says so through `ctx.state.onWait`), and the last one's way to the rest
  // of the pipeline: while any waits, a timer starts the refresh at its time, as none of them reaches this interceptor
  // then. Calls that go straight through cost no timer.
  let waiting = 0;
  let latest: { ctx: Context; next: Next } | undefined;
  let refreshTimer: AbortController | undefined;

  const reader = (src: ApiKeySource) => async (): Promise<string> => {
    let key: unknown;
    try {
      key = typeof src === 'function' ? await src() : src;
    } catch (cause) {
      throw new TokenExchangeError('API key provider threw', url, undefined, undefined, { cause });
    }
    const trimmed = typeof key === 'string' ? key.trim() : '';
    if (!trimmed) throw new InvalidApiKeyError('no API key', url);
    return trimmed;
  };

  const acquire = async (f: Flight): Promise<Entry> => {
    const began = f.ctx.clock.now();
    life.signal.throwIfAborted();
    const key = await f.read();
    const keyId = await keyFingerprint(key);
    f.ctx.state.keyId ??= keyId;
    // Another process may have stored a fresh token; with a lock, only one of them exchanges.
    const run = async () => {
      const stored = await o.store.get(keyId);
      const entry = stored && stored.token !== revoked ? toEntry(keyId, stored, o) : undefined;
      if (entry && f.ctx.clock.now() < entry.refreshAt) return entry;
      const [id, answer] = await exchange(f, key, keyId);
      // What this refresh took sets how early the next one starts (see toEntry), in this process and in a shared store.
      const fresh = { ...answer, latencyMs: f.ctx.clock.now() - began };
      await o.store.set(id, fresh);
      return toEntry(id, fresh, o);
    };
    return o.store.lock ? o.store.lock(keyId, run) : run();
  };

  // The single flight: every caller that needs a token meanwhile shares this one promise.
  const start = (reason: TokenReason, ctx: Context, next: Next): Promise<Entry> => {
    const { bus, clock } = ctx;
    const began = clock.now();
    const rot = reason === 'rotate' ? rotation : undefined;
    if (rot) rotation = undefined;
    // The exchange is a call of its own: its own signal and state, served before queued requests.
    const sub: Context = { attempt: 1, signal: life.signal, streamBody: false, state: { priority: true, tokenExchange: true }, bus, clock };
    const f: Flight = { o, url, ctx: sub, next, reason, signal: life.signal, read: reader(rot ? rot[0] : source), attempt: 0 };
    const promise = raceAbort(acquire(f), life.signal).then(
      (entry) => {
        const now = clock.now();
        flight = undefined;
        if (rot) [source, keyExpiresAt, warned] = [...rot, 0];
        cached = entry;
        nextReason = 'expired';
        if (waiting > 0) armRefresh();
        bus.emit('auth:token-acquired', { keyId: entry.keyId, reason, expiresAt: entry.expiresAt, latencyMs: now - began });
        const remainingMs = (keyExpiresAt ?? Infinity) - now;
        const crossed = o.keyExpiryWarningsMs.filter((t) => remainingMs <= t);
        if (crossed.length > warned) {
          warned = crossed.length;
          const thresholdMs = crossed[warned - 1]!;
          bus.emit('auth:key-expiring', { keyId: entry.keyId, expiresAt: keyExpiresAt!, remainingMs, thresholdMs });
        }
        return entry;
      },
      (error) => {
        const now = clock.now();
        flight = undefined;
        // A failed background refresh is tried again halfway to the token's end, not on every request.
        if (cached) cached.refreshAt = now + (cached.staleAt - now) / 2;
        const { keyId = sub.state.keyId, code = 'ERR_SLUICE_TOKEN_EXCHANGE', status } = error ?? {};
        bus.emit('auth:token-failed', { keyId, reason, attempt: f.attempt, code, status, delayMs: undefined });
        throw error;
      },
    );
    // Handled here, so a background refresh that fails raises no unhandled rejection.
    const settled = promise.catch(() => {});
    o.waitUntil?.(settled);
    return (flight = promise);
  };

  // The usable token, if any, starting a refresh (or rotation) in the background when one is due.
  const usable = (ctx: Context, next: Next): Entry | undefined => {
    const now = ctx.clock.now();
    if (!cached || now >= cached.staleAt) return undefined;
    if (!flight && (rotation || now >= cached.refreshAt)) start(rotation ? 'rotate' : 'refresh-ahead', ctx, next);
    return cached;
  };

  // Blocks only when there is no usable token.
  // The request's signal is read only when it must wait: undici builds it on first access.
  const tokenFor = (ctx: Context, next: Next, request: Request, retried?: boolean): Promise<Entry> | Entry => {
    const entry = usable(ctx, next);
    if (entry) return entry;
    const signal = request.signal;
    const shared = flight ?? start(rotation ? 'rotate' : nextReason, ctx, next);
    // A flight can die without settling: on Workers, with the request that started it. The waiter
    // then gets a runtime error, drops that flight and starts its own, once.
    return raceAbort(shared, signal).catch((error) => {
      if (retried || isSluiceError(error) || signal.aborted) throw error;
      if (flight === shared) flight = undefined;
      return tokenFor(ctx, next, request, true);
    });
  };

  const disarmRefresh = () => {
    refreshTimer?.abort();
    refreshTimer = undefined;
  };
  // No timer while no call waits (nothing then holds a process open, nor needs the token), nor for a token no call went
  // out with yet: were the calls' wait longer than a token lives, timed refreshes would take every slot.
  const armRefresh = () => {
    disarmRefresh();
    const entry = cached;
    if (!entry?.used || !latest || waiting === 0) return;
    const { ctx, next } = latest;
    const timer = (refreshTimer = new AbortController());
    ctx.clock.sleep(entry.refreshAt - ctx.clock.now(), timer.signal).then(() => {
      if (refreshTimer === timer) refreshTimer = undefined;
      if (cached === entry && !flight && waiting > 0 && !life.signal.aborted) start(rotation ? 'rotate' : 'refresh-ahead', ctx, next);
    }, noop);
  };

  const drop = (entry: Entry, bus: EventBus | undefined, reason: '401' | 'manual', request?: Request) => {
    cached = undefined;
    revoked = entry.token;
    nextReason = reason === '401' ? reason : 'expired';
    Promise.resolve(o.store.delete(entry.keyId, entry.token)).catch(() => {});
    bus?.emit('auth:token-invalidated', { keyId: entry.keyId, reason, method: request?.method, url: request && describeUrl(request.url) });
  };

  return {
    name: 'auth-token',
    setup({ bus }) {
      setupBus = bus;
      return () => {
        disarmRefresh();
        life.abort(new ClosedError('auth-token'));
      };
    },
    handle(request, next, ctx) {
      if (!ours(request.url)) return next(request);
      return serve(request, next, ctx);
    },
    rotate(apiKey, apiKeyExpiresAt) {
      if (apiKey !== undefined) checkKey(apiKey);
      rotation = apiKey === undefined ? [source, keyExpiresAt] : [apiKey, toTime(apiKeyExpiresAt)];
    },
    invalidate() {
      if (cached) drop(cached, setupBus, 'manual');
    },
  };

  async function serve(request: Request, next: Next, ctx: Context): Promise<Response> {
    // The platform drops only Authorization on a redirect to another origin: another header would follow it.
    if (customHeader && request.redirect === 'follow') request = new Request(request, { redirect: 'manual' });
    // The first send streams the body as it comes; a copy for a 401 replay is kept meanwhile (a stream's up to the cap).
    const kept = keepForReplay(request, ctx, o.maxReplayBytes);
    let inQueue = false;
    ctx.state.onWait = () => {
      latest = { ctx, next };
      if (inQueue) return;
      inQueue = true;
      if (++waiting === 1 && !refreshTimer) armRefresh();
    };
    const stopWaiting = () => {
      if (!inQueue) return;
      inQueue = false;
      if (--waiting === 0) disarmRefresh();
    };
    let sent: Entry | undefined;
    // Tokens this call waited for at send time. It waits again only for one that expired in a queue since, and at
    // most MAX_SEND_WAITS times (a queue longer than a token's life would hold it forever): then it goes as it is,
    // and a 401 gets it one replay.
    let waits = 0;
    const send = (entry: Entry, attempt: Request) => {
      ctx.state.keyId = entry.keyId;
      sent = entry;
      // A queue after this one may hold the request past its token's refresh or life: at send time, take
      // the newest usable token and start a due refresh without blocking (a blocked send holds its slot); only an
      // expired token waits for its successor.
      // It may run again on the request it swapped the token of (a queue that held it once more): `sent` is the token on it.
      const swap = (outgoing: Request): Request | Promise<Request> => {
        const on = sent as Entry;
        if (outgoing.headers.get(o.header) !== value(on)) return outgoing;
        const current = usable(ctx, next);
        if (!current) {
          const fresh = flight ?? start(nextReason, ctx, next);
          // Past its expiry the token can only earn a 401: wait for the new one (if that fails, send as it is; if the
          // caller aborts, not at all).
          if (ctx.clock.now() < on.expiresAt || ++waits > MAX_SEND_WAITS) return outgoing;
          return raceAbort(fresh, outgoing.signal).then(
            (e) => {
              // Expired on arrival (the exchange took the token's life): no later one would do better.
              if (ctx.clock.now() >= e.expiresAt) waits = MAX_SEND_WAITS;
              return withHeader(outgoing, value((sent = e)));
            },
            (error) => {
              if (outgoing.signal.aborted) throw error;
              return outgoing;
            },
          );
        }
        if (current === on) return outgoing;
        sent = current;
        return withHeader(outgoing, value(current));
      };
      // The token the request leaves with is in use from now on: from then on a timer may refresh it.
      const leaving = (outgoing: Request) => {
        stopWaiting();
        const entry = sent as Entry;
        if (!entry.used) {
          entry.used = true;
          if (entry === cached && waiting > 0 && !refreshTimer) armRefresh();
        }
        return outgoing;
      };
      ctx.state.beforeSend = (outgoing) => {
        const result = swap(outgoing);
        return result instanceof Promise ? result.then(leaving) : leaving(result);
      };
      // A request the pipeline owns takes the header in place. The caller's own is copied: a GET or HEAD by clone(),
      // the quicker, one that may have a body by `new Request()`, which uses that body up as fetch would.
      if (attempt !== ctx.callerRequest) return next(withHeader(attempt, value(entry)));
      const bodiless = attempt.method === 'GET' || attempt.method === 'HEAD';
      return next(bodiless ? withHeader(attempt.clone(), value(entry)) : copyWithHeader(attempt, value(entry)));
    };
    try {
      const ready = tokenFor(ctx, next, request);
      const response = await send(ready instanceof Promise ? await ready : ready, kept.first);
      if (response.status !== 401) return response;
      // Only the token that is still cached is dropped: a late 401 for a replaced one starts no exchange.
      if (sent && cached === sent) drop(sent, ctx.bus, '401', request);
      const copy = await raceAbort(kept.again(), request.signal);
      if (!copy) return response;
      discard(response);
      return await send(await tokenFor(ctx, next, request), copy);
    } finally {
      stopWaiting();
      kept.release();
    }
  }
}
