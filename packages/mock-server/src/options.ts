import type { Clock } from '@sluice/core';
import type { KeySpec } from './keys.js';

/** How the server counts requests against the per-key limit. */
export type Algorithm = 'sliding-log' | 'fixed-window' | 'token-bucket';

/** What "endpoint" means for the concurrency cap. */
export type ConcurrencyScope = 'path' | 'method+path' | 'route';

/** Simulated failures. Rates are shares of requests, 0..1; durations are client (real) milliseconds. */
export interface Faults {
  /** Share of `/v2` requests answered 500, 502 or 503 after their latency. @default 0 */
  serverErrorRate?: number;
  /** Share of `/v2` requests whose connection is reset (in-process: rejects like a failed fetch). @default 0 */
  resetRate?: number;
  /** Share of `/v2` 200 answers reset mid-body: status, headers and half the body arrive, then the connection fails. @default 0 */
  truncateRate?: number;
  /** Periodic 429 storms: every `everyMs`, the last `durationMs` of the period answers 429 to everything. @default none */
  storm?: { everyMs: number; durationMs: number } | undefined;
  /** Extra delay on token exchanges, on top of `latencyMs`. @default 0 */
  tokenLatencyMs?: number;
  /** Share of token exchanges answered 200 with a malformed body. @default 0 */
  malformedTokenRate?: number;
}

/** Latency in client milliseconds: fixed, or uniform in `[min, max]`. */
export type Latency = number | { min: number; max: number };

export interface MockServerOptions {
  /** Time source (`now`, `sleep`); inject `createTestClock()` in tests. @default `systemClock` */
  clock?: Clock;
  /** Server time runs this many times faster than the clock: 10 makes a minute pass in 6 s. @default 1 */
  timeScale?: number;
  /** Counting algorithm for the per-key limit. @default 'sliding-log' */
  algorithm?: Algorithm;
  /** Requests per window per API key. @default 60 */
  limit?: number;
  /** Window of the limit, in server milliseconds. @default 60_000 */
  windowMs?: number;
  /** Whether token exchanges count against their key's limit. @default true */
  countTokenExchange?: boolean;
  /** Requests in flight per endpoint per key. @default 5 */
  concurrency?: number;
  /** What "endpoint" means for the concurrency cap. @default 'path' */
  concurrencyScope?: ConcurrencyScope;
  /** Access token lifetime, in server milliseconds. @default 900_000 */
  tokenTtlMs?: number;
  /** Live tokens kept; past this the oldest is forgotten (it then answers 401 unknown). @default 10_000 */
  maxTokens?: number;
  /** API keys. @default three demo keys: admin, read-only, expired (see `demoKeys`) */
  keys?: readonly KeySpec[];
  /** Delay before each `/v2` answer, in client milliseconds. @default 0 */
  latencyMs?: Latency;
  /** Simulated failures. @default none */
  faults?: Faults;
  /** Seed of the data set and of fault decisions. @default 1 */
  seed?: number;
  /** Random source in [0, 1) for faults and latency. @default a PRNG seeded with `seed` */
  random?: () => number;
  /** Incidents in the seeded data set. @default 3000 */
  incidents?: number;
  /** Largest request body accepted; larger answers 413. @default 1_048_576 */
  maxBodyBytes?: number;
  /** Path prefix of the control routes (stats, faults, revocation); `false` turns them off. @default '/_mock' */
  controlPath?: string | false;
}

export const defaults = Object.freeze({
  timeScale: 1,
  algorithm: 'sliding-log',
  limit: 60,
  windowMs: 60_000,
  countTokenExchange: true,
  concurrency: 5,
  concurrencyScope: 'path',
  tokenTtlMs: 900_000,
  maxTokens: 10_000,
  latencyMs: 0,
  seed: 1,
  incidents: 3000,
  maxBodyBytes: 1_048_576,
  controlPath: '/_mock',
} satisfies Partial<MockServerOptions>);

export const ALGORITHMS: readonly Algorithm[] = ['sliding-log', 'fixed-window', 'token-bucket'];
export const SCOPES: readonly ConcurrencyScope[] = ['path', 'method+path', 'route'];

export type ResolvedOptions = Required<Omit<MockServerOptions, 'clock' | 'keys' | 'random' | 'faults'>> & {
  keys: readonly KeySpec[] | undefined;
  faults: Faults;
};

function positive(name: string, value: number, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`\`${name}\` must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
}

function share(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new RangeError(`\`${name}\` must be between 0 and 1, got ${String(value)}`);
}

function nonNegative(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`\`${name}\` must be a non-negative number, got ${String(value)}`);
  }
}

export function validateLatency(name: string, latency: Latency): void {
  if (typeof latency === 'number') {
    nonNegative(name, latency);
    return;
  }
  if (typeof latency !== 'object' || latency === null) throw new TypeError(`\`${name}\` must be a number or { min, max }`);
  nonNegative(`${name}.min`, latency.min);
  nonNegative(`${name}.max`, latency.max);
  if (latency.max < latency.min) throw new RangeError(`\`${name}.max\` must be at least \`${name}.min\``);
}

export function validateFaults(faults: Faults): void {
  share('faults.serverErrorRate', faults.serverErrorRate);
  share('faults.resetRate', faults.resetRate);
  share('faults.truncateRate', faults.truncateRate);
  share('faults.malformedTokenRate', faults.malformedTokenRate);
  nonNegative('faults.tokenLatencyMs', faults.tokenLatencyMs);
  if (faults.storm !== undefined) {
    positive('faults.storm.everyMs', faults.storm.everyMs);
    nonNegative('faults.storm.durationMs', faults.storm.durationMs);
    if (faults.storm.durationMs > faults.storm.everyMs)
      throw new RangeError('`faults.storm.durationMs` must not exceed `faults.storm.everyMs`');
  }
}

/** Drops undefined values, spreads over the defaults and validates; never writes into `options`. */
export function resolveOptions(options: MockServerOptions): ResolvedOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as MockServerOptions;
  const o = { ...defaults, ...given, keys: given.keys, faults: { ...given.faults } } as ResolvedOptions;
  positive('timeScale', o.timeScale);
  positive('limit', o.limit, true);
  positive('windowMs', o.windowMs);
  positive('concurrency', o.concurrency, true);
  positive('tokenTtlMs', o.tokenTtlMs);
  positive('maxTokens', o.maxTokens, true);
  positive('maxBodyBytes', o.maxBodyBytes, true);
  if (!Number.isInteger(o.incidents) || o.incidents < 0)
    throw new RangeError(`\`incidents\` must be a non-negative integer, got ${o.incidents}`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`\`seed\` must be a finite number, got ${o.seed}`);
  if (!ALGORITHMS.includes(o.algorithm))
    throw new RangeError(`\`algorithm\` must be one of ${ALGORITHMS.join(', ')}, got ${String(o.algorithm)}`);
  if (!SCOPES.includes(o.concurrencyScope)) {
    throw new RangeError(`\`concurrencyScope\` must be one of ${SCOPES.join(', ')}, got ${String(o.concurrencyScope)}`);
  }
  if (o.controlPath !== false && (typeof o.controlPath !== 'string' || !o.controlPath.startsWith('/') || o.controlPath.startsWith('/v2'))) {
    throw new RangeError('`controlPath` must be false or a path starting with `/` outside `/v2`');
  }
  validateLatency('latencyMs', o.latencyMs);
  validateFaults(o.faults);
  return o;
}
