import { type Clock, type Context, type EventBus, type Interceptor, systemClock } from '@sluice/core';
import { describeUrl, isRateLimited, parseRateLimit, parseRetryAfter } from '@sluice/core/http';
import {
  type Counts,
  copyCounts,
  countInWindow,
  type KeyState,
  newCounts,
  newKey,
  SLOTS,
  statusClass,
  touch,
  usedInWindow,
} from './state.js';

export type { KeyExpiringEvent, RateLimitedEvent, UsageHighEvent } from './events.js';
export type { Counts, StatusClass } from './state.js';

export interface MonitorOptions {
  /** Requests a key may make per `windowMs`, for the usage share while the server sends no `X-RateLimit-Limit`. @default 60 */
  limit?: number;
  /** Window of the usage share, ms; counted in 60 slots. @default 60_000 */
  windowMs?: number;
  /** Share of the limit at which `monitor:usage-high` fires. @default 0.8 */
  usageThreshold?: number;
  /** Keys kept; past this the least recently used key is dropped. @default 1000 */
  maxKeys?: number;
  /** Endpoints kept per key; past this the least recently used one is dropped (the key's totals keep counting). @default 100 */
  maxEndpoints?: number;
  /** Names the endpoint of a request. Pass rate-limit's `endpoint` option so queue waits land on the same rows. @default `ctx.state.endpoint`, else the URL path */
  endpoint?: (request: Request, ctx: Context) => string;
}

export const monitorDefaults = Object.freeze({
  limit: 60,
  windowMs: 60_000,
  usageThreshold: 0.8,
  maxKeys: 1000,
  maxEndpoints: 100,
  endpoint: (request: Request, ctx: Context): string => ctx.state.endpoint ?? new URL(request.url).pathname,
}) satisfies Required<MonitorOptions>;

export interface EndpointSnapshot extends Counts {
  endpoint: string;
}

export interface KeySnapshot extends Counts {
  /** auth-token's fingerprint of the key (never the key), or the URL's origin for requests without one. */
  keyId: string;
  endpoints: EndpointSnapshot[];
  /** Requests the server counted over the last window, as far as the client knows (every request but those answered 429). */
  usage: { used: number; limit: number; windowMs: number; share: number };
  /** The last rate-limit headers the server sent for the key, and when (epoch ms). */
  rateLimit: { remaining?: number; resetAt?: number; limit?: number; seenAt: number } | undefined;
  /** The access token in use, from `auth:token-acquired`; `ageMs` since it was acquired. */
  token: { acquiredAt: number; expiresAt: number; ageMs: number } | undefined;
  /** From `auth:key-expiring`, once auth-token has warned. */
  keyExpiresAt: number | undefined;
}

export interface MonitorSnapshot {
  /** Clock time of the snapshot, epoch ms. */
  at: number;
  /** Least recently used first. */
  keys: KeySnapshot[];
  /** Rows dropped to stay within `maxKeys` and `maxEndpoints`. */
  evicted: { keys: number; endpoints: number };
}

/** One settled request, or one queue wait, as exporters (`@sluice/monitor/otel`) receive them. */
export type MonitorRecord =
  | {
      type: 'response';
      keyId: string;
      endpoint: string;
      method: string;
      /** `undefined`: no answer (network error or abort). */
      status: number | undefined;
      /** Refused for the rate: a 429, or a 403 that says so (GitHub's: `isRateLimited`). */
      rateLimited: boolean;
      durationMs: number;
      retry: boolean;
      tokenExchange: boolean;
    }
  | { type: 'queue-wait'; keyId: string; endpoint: string; waitedMs: number };

export interface Monitor extends Interceptor {
  /** Everything counted so far, as plain data. */
  snapshot(): MonitorSnapshot;
  /** Calls `listener` with every record; returns an unsubscribe. */
  subscribe(listener: (record: MonitorRecord) => void): () => void;
}

function resolve(options: MonitorOptions) {
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  const o = { ...monitorDefaults, ...given } as Required<MonitorOptions>;
  const check = (name: keyof MonitorOptions, what: string, ok: (v: number) => boolean) => {
    const v = o[name];
    if (typeof v !== 'number' || !(v > 0) || !ok(v)) throw new RangeError(`\`${name}\` must be a positive ${what}, got ${String(v)}`);
  };
  check('limit', 'number', Number.isFinite);
  check('windowMs', 'number', Number.isFinite);
  check('maxKeys', 'integer', Number.isInteger);
  check('maxEndpoints', 'integer', Number.isInteger);
  check('usageThreshold', 'number up to 1', (v) => v <= 1);
  if (typeof o.endpoint !== 'function') throw new TypeError('`endpoint` must be a function (request, ctx) => string');
  return o;
}

// auth-token's and rate-limit's events, typed by the fields read here, so neither package is a dependency.
type On = <T>(type: string, listener: (payload: T) => void) => () => void;

/**
 * Counts what a pipeline sends, per key and endpoint. Put it last, right before the transport, to see every request
 * that reaches the server: `[errorMap(), retry429(), authToken(), rateLimit(), monitor()]`.
 */
export function monitor(options: MonitorOptions = {}): Monitor {
  const o = resolve(options);
  const slotMs = o.windowMs / SLOTS;
  const keys = new Map<string, KeyState>();
  const evicted = { keys: 0, endpoints: 0 };
  const tokenUrls = new Set<string>();
  const calls = new WeakMap<Context, number>();
  const listeners = new Set<(record: MonitorRecord) => void>();
  let clock: Clock = systemClock;

  const key = (keyId: string, now: number) =>
    touch(
      keys,
      keyId,
      () => newKey(now, slotMs),
      o.maxKeys,
      () => evicted.keys++,
    );
  const rows = (keyId: string, endpoint: string, now: number): [KeyState, Counts, Counts] => {
    const k = key(keyId, now);
    return [k, k.totals, touch(k.endpoints, endpoint, newCounts, o.maxEndpoints, () => evicted.endpoints++)];
  };
  const publish = (record: MonitorRecord) => {
    for (const listener of listeners) {
      try {
        listener(record);
      } catch {
        // An exporter's failure must not fail the request.
      }
    }
  };

  const usage = (k: KeyState, now: number) => {
    const used = usedInWindow(k, now, slotMs);
    const limit = k.limit ?? o.limit;
    let share = used / limit;
    // The server's own count covers other processes using the key.
    const rl = k.rateLimit;
    if (rl?.remaining !== undefined && (rl.resetAt ?? rl.seenAt + o.windowMs) > now)
      share = Math.max(share, (limit - rl.remaining) / limit);
    return { used, limit, windowMs: o.windowMs, share };
  };

  const handle: Interceptor['handle'] = async function monitorRequest(request, next, ctx) {
    const { bus, clock: c } = ctx;
    const started = c.now();
    const { method } = request;
    const url = describeUrl(request.url);
    const keyId = ctx.state.keyId ?? new URL(url).origin;
    const endpoint = o.endpoint(request, ctx);
    const tokenExchange = tokenUrls.has(url);
    const sent = tokenExchange ? 0 : (calls.get(ctx) ?? 0) + 1;
    if (sent) calls.set(ctx, sent);
    const retry = sent > 1;
    for (const row of rows(keyId, endpoint, started).slice(1) as Counts[]) {
      row.requests++;
      if (retry) row.retries++;
    }

    const settle = (response?: Response) => {
      const now = c.now();
      const [k, ...counts] = rows(keyId, endpoint, now);
      const status = response?.status;
      const rateLimited = response !== undefined && isRateLimited(response);
      for (const row of counts) {
        if (status === undefined) row.errors++;
        else row.responses[statusClass(status)]++;
        if (rateLimited) row.rateLimited++;
        if (tokenExchange && status! >= 200 && status! < 300) row.tokenExchanges++;
      }
      // A server does not count what it refused; anything else may have been counted.
      if (!rateLimited) countInWindow(k, now, slotMs);
      const info = response && parseRateLimit(response.headers, now);
      if (info) {
        k.limit = info.limit ?? k.limit;
        k.rateLimit = { remaining: info.remaining, resetAt: info.resetAt, limit: info.limit, seenAt: now };
      }
      if (listeners.size)
        publish({ type: 'response', keyId, endpoint, method, status, rateLimited, durationMs: now - started, retry, tokenExchange });
      if (rateLimited) {
        if (k.lastLimitedAt === undefined || now - k.lastLimitedAt >= o.windowMs) {
          const retryAfterMs = parseRetryAfter(response!.headers.get('retry-after'), now);
          bus.emit('monitor:rate-limited', { keyId, endpoint, method, url, retryAfterMs });
        }
        k.lastLimitedAt = now;
      }
      const u = usage(k, now);
      if (u.share < o.usageThreshold) k.high = false;
      else if (!k.high) {
        k.high = true;
        bus.emit('monitor:usage-high', { keyId, ...u });
      }
    };

    let response: Response;
    try {
      response = await next(request);
    } catch (error) {
      settle();
      throw error;
    }
    settle(response);
    return response;
  };

  const setup = ({ bus, clock: c }: { bus: EventBus; clock: Clock }) => {
    clock = c;
    const on = bus.on as On;
    const offs = [
      on<{ url: string }>('auth:token-requested', (e) => {
        if (tokenUrls.size < 16) tokenUrls.add(e.url);
      }),
      on<{ keyId: string; expiresAt: number }>('auth:token-acquired', (e) => {
        const now = clock.now();
        key(e.keyId, now).token = { acquiredAt: now, expiresAt: e.expiresAt };
      }),
      on<{ keyId: string; expiresAt: number; remainingMs: number; thresholdMs: number }>('auth:key-expiring', (e) => {
        key(e.keyId, clock.now()).keyExpiresAt = e.expiresAt;
        bus.emit('monitor:key-expiring', {
          keyId: e.keyId,
          expiresAt: e.expiresAt,
          remainingMs: e.remainingMs,
          thresholdMs: e.thresholdMs,
        });
      }),
      on<{ key: string; endpoint: string; waitedMs: number }>('rate-limit:acquired', (e) => {
        if (!(e.waitedMs > 0)) return;
        for (const c of rows(e.key, e.endpoint, clock.now()).slice(1) as Counts[]) {
          c.queueWaits++;
          c.queueWaitMs += e.waitedMs;
        }
        if (listeners.size) publish({ type: 'queue-wait', keyId: e.key, endpoint: e.endpoint, waitedMs: e.waitedMs });
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  };

  const snapshot = (): MonitorSnapshot => {
    const at = clock.now();
    const out: KeySnapshot[] = [];
    for (const [keyId, k] of keys) {
      out.push({
        keyId,
        ...copyCounts(k.totals),
        endpoints: Array.from(k.endpoints, ([endpoint, c]) => ({ endpoint, ...copyCounts(c) })),
        usage: usage(k, at),
        rateLimit: k.rateLimit && { ...k.rateLimit },
        token: k.token && { ...k.token, ageMs: at - k.token.acquiredAt },
        keyExpiresAt: k.keyExpiresAt,
      });
    }
    return { at, keys: out, evicted: { ...evicted } };
  };

  return {
    name: 'monitor',
    setup,
    handle,
    snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
