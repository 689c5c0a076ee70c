import type { Clock } from '@sluice/core';
import type { Concurrency } from './concurrency.js';
import type { DataSet } from './data.js';
import type { FaultState } from './faults.js';
import type { KeyStore } from './keys.js';
import type { Limiter, LimitState } from './limiter.js';
import type { Latency, ResolvedOptions } from './options.js';
import type { Stats } from './stats.js';
import type { Timeline } from './time.js';
import type { TokenStore } from './tokens.js';

/** Everything a request handler works with; one per server. */
export interface Env {
  readonly o: ResolvedOptions;
  readonly clock: Clock;
  readonly timeline: Timeline;
  readonly keys: KeyStore;
  readonly tokens: TokenStore;
  readonly concurrency: Concurrency;
  readonly faults: FaultState;
  readonly stats: Stats;
  readonly random: () => number;
  /** Aborts when the server closes. */
  readonly closed: AbortSignal;
  latency: Latency;
  /** The seeded data set, built on first use. */
  data(): DataSet;
  /** The limiter of a key; without a key, a limiter nobody takes from (a fresh window). */
  limiter(keyId: string | undefined): Limiter;
}

/** One request on its way through the handler. */
export interface Call {
  readonly id: string;
  readonly request: Request;
  readonly url: URL;
  readonly method: string;
  /** The API key the request is attributed to, once known. */
  keyId?: string;
  /** Limit state to report in X-RateLimit-*; when unset, the key's current state. */
  limit?: LimitState;
  /** True once the latency has been waited. */
  waited: boolean;
}
