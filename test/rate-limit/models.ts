// In-test server models on the virtual clock. Each counts a request when it arrives (send + one-way
// latency), answers 429 over its limit or over `concurrency` requests of one endpoint being served,
// and reports its quota in headers the way servers of its kind do.
import type { Clock } from '@sluice/core';
import { parseRateLimit } from '@sluice/core/http';
import { seededRandom } from '@sluice/mock-server';

export type Counting = 'sliding' | 'fixed' | 'bucket';

/** A limit of `limit` requests per `windowMs`, counted one way; `admit` counts the request when it fits. */
interface Counter {
  admit(now: number): boolean;
  headers(now: number): Record<string, string>;
  /** Until the next request can be admitted, ms. */
  retryAfter(now: number): number;
}

const seconds = (ms: number) => String(Math.ceil(ms / 1000));

/** Timestamps of accepted requests; one is accepted while fewer than `limit` lie in (now - windowMs, now]. */
export function slidingLog(limit: number, windowMs: number): Counter {
  const log: number[] = [];
  const expire = (now: number) => {
    while (log.length && (log[0] as number) <= now - windowMs) log.shift();
  };
  return {
    admit(now) {
      expire(now);
      if (log.length >= limit) return false;
      log.push(now);
      return true;
    },
    headers(now) {
      expire(now);
      // Reset: when the oldest request leaves the window, rounded up to the epoch second (as servers send it).
      const reset = log.length ? (log[0] as number) + windowMs : now;
      return {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(limit - log.length),
        'x-ratelimit-reset': seconds(reset),
      };
    },
    retryAfter(now) {
      expire(now);
      return log.length < limit ? 0 : (log[0] as number) + windowMs - now;
    },
  };
}

/** Windows aligned to multiples of `windowMs` since the epoch (epoch minutes by default). */
export function fixedWindow(limit: number, windowMs: number): Counter {
  let window = -1;
  let count = 0;
  const roll = (now: number) => {
    const current = Math.floor(now / windowMs);
    if (current !== window) {
      window = current;
      count = 0;
    }
  };
  return {
    admit(now) {
      roll(now);
      if (count >= limit) return false;
      count++;
      return true;
    },
    headers(now) {
      roll(now);
      return {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(limit - count),
        'x-ratelimit-reset': seconds((window + 1) * windowMs),
      };
    },
    retryAfter(now) {
      roll(now);
      return count < limit ? 0 : (window + 1) * windowMs - now;
    },
  };
}

/** Starts full with `limit` tokens and refills `limit` per `windowMs` continuously; a request takes one token. */
export function tokenBucket(limit: number, windowMs: number, start: number): Counter {
  let tokens = limit;
  let last = start;
  const refill = (now: number) => {
    tokens = Math.min(limit, tokens + ((now - last) * limit) / windowMs);
    last = now;
  };
  return {
    admit(now) {
      refill(now);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    headers(now) {
      refill(now);
      // IETF draft form: requests left, and seconds until the next whole token.
      const next = ((1 - (tokens % 1)) * windowMs) / limit;
      return {
        ratelimit: `limit=${limit}, remaining=${Math.floor(tokens)}, reset=${Math.ceil(next / 1000)}`,
        'ratelimit-policy': `"default";q=${limit};w=${windowMs / 1000}`,
      };
    },
    retryAfter(now) {
      refill(now);
      return tokens >= 1 ? 0 : ((1 - tokens) * windowMs) / limit;
    },
  };
}

export interface ServerOptions {
  clock: Clock;
  counting: Counting;
  random: () => number;
  limit?: number;
  windowMs?: number;
  concurrency?: number;
  /** One-way latency range, ms. */
  latency?: [number, number];
  /** Time the server works on a request before answering, ms. */
  serviceMs?: [number, number];
  headers?: boolean;
  /** When the limit counts a request: on arrival (default), or once served, as the answer leaves. */
  countAt?: 'arrival' | 'answer';
}

export interface ServerModel {
  fetch: (request: Request) => Promise<Response>;
  accepted: number;
  refused: number;
  /** Most requests of one endpoint in flight at once: between send and response (client) and being served (server). */
  maxClientInFlight: number;
  maxServerInFlight: number;
  /** Arrival times of accepted requests. */
  arrivals: number[];
}

export function createServer(options: ServerOptions): ServerModel {
  const { clock, random, limit = 60, windowMs = 60_000, concurrency = 5 } = options;
  const [lo, hi] = options.latency ?? [5, 200];
  const [slo, shi] = options.serviceMs ?? [0, 20];
  const between = (a: number, b: number) => Math.round(a + random() * (b - a));
  const counter =
    options.counting === 'sliding'
      ? slidingLog(limit, windowMs)
      : options.counting === 'fixed'
        ? fixedWindow(limit, windowMs)
        : tokenBucket(limit, windowMs, clock.now());
  const client = new Map<string, number>();
  const serving = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    map.set(key, n);
    return n;
  };

  const model: ServerModel = {
    accepted: 0,
    refused: 0,
    maxClientInFlight: 0,
    maxServerInFlight: 0,
    arrivals: [],
    async fetch(request) {
      const endpoint = new URL(request.url).pathname;
      model.maxClientInFlight = Math.max(model.maxClientInFlight, bump(client, endpoint, 1));
      try {
        await clock.sleep(between(lo, hi));
        const busy = bump(serving, endpoint, 1);
        model.maxServerInFlight = Math.max(model.maxServerInFlight, busy);
        const service = between(slo, shi);
        if (options.countAt === 'answer') await clock.sleep(service);
        const now = clock.now();
        const ok = busy <= concurrency && counter.admit(now);
        const headers: Record<string, string> = options.headers === false ? {} : counter.headers(now);
        if (ok) {
          model.accepted++;
          model.arrivals.push(now);
        } else {
          model.refused++;
          // Delta-seconds until the model admits again (at least 1), as a server that knows it would say.
          headers['retry-after'] = seconds(Math.max(1000, counter.retryAfter(now)));
        }
        if (options.countAt !== 'answer') await clock.sleep(service);
        bump(serving, endpoint, -1);
        await clock.sleep(between(lo, hi));
        return new Response(ok ? 'ok' : 'rate limited', { status: ok ? 200 : 429, headers });
      } finally {
        bump(client, endpoint, -1);
      }
    },
  };
  return model;
}

/**
 * The earliest the last of `issues` (sorted issue times) can complete under each model, for any client: each
 * request counted as early as its issue time plus the least one-way latency and the model allow (greedy, in issue
 * order, which is optimal for identical requests), answered after the least latency back. Concurrency is ignored.
 */
export function minimumCompletion(counting: Counting, issues: number[], limit: number, windowMs: number, minLatency: number): number {
  const counted: number[] = [];
  let tokens = limit;
  let last = issues[0] ?? 0;
  const perWindow = new Map<number, number>();
  for (let i = 0; i < issues.length; i++) {
    let t = Math.max((issues[i] as number) + minLatency, counted[i - 1] ?? Number.NEGATIVE_INFINITY);
    if (counting === 'sliding') {
      if (i >= limit) t = Math.max(t, (counted[i - limit] as number) + windowMs);
    } else if (counting === 'fixed') {
      while ((perWindow.get(Math.floor(t / windowMs)) ?? 0) >= limit) t = (Math.floor(t / windowMs) + 1) * windowMs;
      const w = Math.floor(t / windowMs);
      perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    } else {
      tokens = Math.min(limit, tokens + ((t - last) * limit) / windowMs);
      if (tokens < 1) {
        t += ((1 - tokens) * windowMs) / limit;
        tokens = 1;
      }
      tokens -= 1;
      last = t;
    }
    counted.push(t);
  }
  return (counted[counted.length - 1] ?? 0) + minLatency;
}

/** The simulator's own seeded generator (mulberry32), so every run of a test sees the same traffic. */
/** How a model's answer states its quota; `'quota'`: only what is left and when it resets (the reference API's form). */
export type Evidence = 'ietf' | 'x-ratelimit' | 'quota' | 'retry-after' | 'nothing';

/** The model's answer in the header form asked for: its quota as IETF or X-RateLimit headers, only Retry-After, or nothing. */
export function reform(response: Response, evidence: Evidence, limit: number, windowMs: number, now: number): Response {
  const info = parseRateLimit(response.headers, now);
  const headers = new Headers();
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter !== null && evidence !== 'nothing') headers.set('retry-after', retryAfter);
  if (info?.remaining !== undefined && info.resetAt !== undefined) {
    if (evidence === 'x-ratelimit' || evidence === 'quota') {
      if (evidence === 'x-ratelimit') headers.set('x-ratelimit-limit', String(limit));
      headers.set('x-ratelimit-remaining', String(info.remaining));
      headers.set('x-ratelimit-reset', String(Math.ceil(info.resetAt / 1000)));
    } else if (evidence === 'ietf') {
      headers.set('ratelimit', `limit=${limit}, remaining=${info.remaining}, reset=${Math.ceil(Math.max(0, info.resetAt - now) / 1000)}`);
      headers.set('ratelimit-policy', `${limit};w=${windowMs / 1000}`);
    }
  }
  return new Response(response.body, { status: response.status, headers });
}

export { seededRandom as seeded } from '@sluice/mock-server';

/** Quotas of a server like GitHub's `core` and `search` (fixed windows), as small as a test needs. */
export const CORE_QUOTA = { limit: 1000, windowMs: 3_600_000 };
export const SEARCH_QUOTA = { limit: 10, windowMs: 10_000 };

/**
 * Two fixed-window quotas behind one origin, `/search` paths counted against `search` and the rest against `core`, each
 * answer stating its quota as X-RateLimit-* and naming it with `header`; `sentAt` per quota.
 */
export function twoQuotas(clock: Clock, header = 'x-ratelimit-resource', core = CORE_QUOTA) {
  const quotas = {
    core: createServer({ clock, counting: 'fixed', random: seededRandom(1), ...core, latency: [20, 40], concurrency: 100 }),
    search: createServer({ clock, counting: 'fixed', random: seededRandom(2), ...SEARCH_QUOTA, latency: [20, 40], concurrency: 100 }),
  };
  const sentAt: Record<'core' | 'search', number[]> = { core: [], search: [] };
  const fetch = async (request: Request) => {
    const name = new URL(request.url).pathname.startsWith('/search') ? 'search' : 'core';
    const { limit, windowMs } = name === 'search' ? SEARCH_QUOTA : core;
    sentAt[name].push(clock.now());
    const response = reform(await quotas[name].fetch(request), 'x-ratelimit', limit, windowMs, clock.now());
    const headers = new Headers(response.headers);
    headers.set(header, name);
    return new Response(response.body, { status: response.status, headers });
  };
  return { quotas, sentAt, fetch };
}

/**
 * Quotas counted per endpoint and stated without a name (an API gateway's per-route limits): `/…/e<i>` is counted apart
 * at `limits[i]` per `windowMs`, each answer stating its endpoint's quota as `evidence` says.
 */
export function perEndpointQuotas(clock: Clock, counting: Counting, limits: number[], windowMs: number, evidence: Evidence) {
  const servers = limits.map((limit, i) =>
    createServer({ clock, counting, random: seededRandom(i + 1), limit, windowMs, latency: [20, 40], concurrency: 100 }),
  );
  const fetch = async (request: Request) => {
    const i = Number(new URL(request.url).pathname.at(-1));
    const server = servers[i] as ServerModel;
    return reform(await server.fetch(request), evidence, limits[i] as number, windowMs, clock.now());
  };
  return { servers, fetch };
}
