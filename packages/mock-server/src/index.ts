import { type Clock, systemClock } from '@sluice/core';
import { createConcurrency } from './concurrency.js';
import { createDataSet, type DataSet } from './data.js';
import type { Env } from './env.js';
import { createFaults } from './faults.js';
import { createHandler } from './handler.js';
import { createKeyStore, demoKeys, type KeySpec, type Role } from './keys.js';
import { createLimiter, type Limiter } from './limiter.js';
import { type Faults, type Latency, type MockServerOptions, resolveOptions, validateLatency } from './options.js';
import { seededRandom } from './random.js';
import { createStats, type MockStats } from './stats.js';
import { createTimeline } from './time.js';
import { createTokenStore } from './tokens.js';

export type { DataSet, EventDetails, Incident, Sensitivity, Severity } from './data.js';
export { connectionReset, isConnectionReset } from './faults.js';
export { demoKeys, type KeySpec, MAX_KEY_VALIDITY_MS, type Permission, ROLE_PERMISSIONS, type Role } from './keys.js';
export { type Algorithm, type ConcurrencyScope, defaults, type Faults, type Latency, type MockServerOptions } from './options.js';
export { seededRandom } from './random.js';
export { routes } from './routes.js';
export type { KeyStats, MockStats, RateLimitCause, UnauthorizedReason } from './stats.js';

/** A key as the server shows it: never the secret. Times are client epoch milliseconds. */
export interface KeyInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
  expired: boolean;
}

export interface MockServer {
  /** The web-standard handler: never throws except to simulate a network failure or an abort. */
  handler(request: Request): Promise<Response>;
  /** `handler` shaped like `fetch`, to pass as `compose(..., { fetch })`. A path alone (`'/v2/...'`) is resolved against `http://localhost`. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Counters as plain data, a fresh copy each call. */
  stats(): MockStats;
  resetStats(): void;
  /** Adds an API key (validity at most a year); returns it without the secret. */
  addKey(spec: KeySpec): KeyInfo;
  /** Deletes a key; its tokens then answer 401 (revoked). */
  removeKey(id: string): boolean;
  keys(): KeyInfo[];
  /** Revokes every access token issued so far; returns how many were live. */
  revokeAllTokens(): number;
  /** Merges fault settings; `undefined` clears one. */
  setFaults(patch: Faults): void;
  faults(): Faults;
  /** Answers 429 to every `/v2` request for `ms` client milliseconds. */
  startStorm(ms: number): void;
  setLatency(latency: Latency): void;
  /** Ends pending latency waits (they answer 503) and answers 503 from now on. */
  close(): Promise<void>;
  readonly clock: Clock;
}

/** A simulator of the Cyberhaven v2 API shape: tokens, roles, per-key limits, concurrency caps and faults. */
export function createMockServer(options: MockServerOptions = {}): MockServer {
  const o = resolveOptions(options);
  const clock = options.clock ?? systemClock;
  const timeline = createTimeline(clock, o.timeScale);
  const random = options.random ?? seededRandom(o.seed);
  const keys = createKeyStore();
  const specs = o.keys ?? demoKeys;
  // A dry run reports bad keys now; the real ones are added on first use, with the clock of that moment.
  const dryRun = createKeyStore();
  for (const spec of specs) dryRun.add(spec, clock.now());
  let booted = false;
  const boot = () => {
    if (booted) return;
    booted = true;
    for (const spec of specs) keys.add(spec, timeline.now());
  };
  const limiters = new Map<string, Limiter>();
  const anonymous = createLimiter(o.algorithm, o.limit, o.windowMs);
  const closer = new AbortController();
  const concurrency = createConcurrency(o.concurrency);
  const stats = createStats();
  let data: DataSet | undefined;

  const env: Env = {
    o,
    clock,
    timeline,
    keys,
    tokens: createTokenStore({ timeline, ttlMs: o.tokenTtlMs, maxTokens: o.maxTokens }),
    concurrency,
    faults: createFaults(o.faults, random, () => clock.now(), timeline.origin),
    stats,
    random,
    closed: closer.signal,
    latency: o.latencyMs,
    data: () => (data ??= createDataSet(o.seed, o.incidents)),
    limiter(keyId) {
      if (keyId === undefined || !keys.byId(keyId)) return anonymous;
      let limiter = limiters.get(keyId);
      if (!limiter) limiters.set(keyId, (limiter = createLimiter(o.algorithm, o.limit, o.windowMs)));
      return limiter;
    },
  };
  const inner = createHandler(env);
  const handler = (request: Request) => {
    boot();
    return inner(request);
  };
  const info = (id: string): KeyInfo => {
    const k = keys.byId(id)!;
    const expired = timeline.now() >= k.expiresAt;
    return {
      id: k.id,
      name: k.name,
      role: k.role,
      createdAt: timeline.toClientTime(k.createdAt),
      expiresAt: timeline.toClientTime(k.expiresAt),
      expired,
    };
  };

  return {
    handler,
    fetch(input, init) {
      let request: Request;
      try {
        const target = typeof input === 'string' && input.startsWith('/') ? `http://localhost${input}` : input;
        request = target instanceof Request && init === undefined ? target : new Request(target, init);
      } catch (error) {
        return Promise.reject(error);
      }
      return handler(request);
    },
    stats: () => stats.snapshot(concurrency.total()),
    resetStats: () => stats.reset(),
    addKey(spec) {
      boot();
      return info(keys.add(spec, timeline.now()).id);
    },
    removeKey(id) {
      boot();
      limiters.delete(id);
      return keys.remove(id);
    },
    keys() {
      boot();
      return keys.list().map((k) => info(k.id));
    },
    revokeAllTokens: () => env.tokens.revokeAll(),
    setFaults: (patch) => env.faults.set(patch),
    faults: () => env.faults.get(),
    startStorm: (ms) => env.faults.startStorm(ms),
    setLatency(latency) {
      validateLatency('latency', latency);
      env.latency = latency;
    },
    async close() {
      closer.abort();
    },
    clock,
  };
}
