import type { TokenProblem } from './tokens.js';

/** Why a request was answered 401: a token problem, or (on the token exchange) a bad API key. */
export type UnauthorizedReason = TokenProblem | 'invalidKey' | 'keyExpired';
export type RateLimitCause = 'rate' | 'concurrency' | 'storm';

export interface KeyStats {
  requests: number;
  rateLimited: number;
  tokenExchanges: number;
  /** Highest number of requests in flight for one endpoint of this key. */
  peakConcurrency: number;
}

/** Plain data; a fresh copy on every call. Control routes (`/_mock/*`) are not counted. */
export interface MockStats {
  /** Requests seen, whatever their answer (connection resets included). */
  requests: number;
  /** Answers by status code, e.g. `{ "200": 10, "429": 2 }`. */
  byStatus: Record<string, number>;
  /** 429 answers, all causes. */
  rateLimited: number;
  rateLimitedBy: Record<RateLimitCause, number>;
  unauthorized: Record<UnauthorizedReason, number>;
  forbidden: number;
  /** Access tokens issued. */
  tokenExchanges: number;
  /** Injected faults that fired. */
  faults: { serverErrors: number; resets: number; malformedTokens: number };
  /** Requests in flight now. */
  inFlight: number;
  /** Highest in-flight count for one key on each endpoint (as `concurrencyScope` defines it); past 1000 endpoints, the rest share "(other endpoints)". */
  peakConcurrency: Record<string, number>;
  perKey: Record<string, KeyStats>;
}

const MAX_ENDPOINTS = 1000;
const OTHER = '(other endpoints)';

const zeroUnauthorized = (): MockStats['unauthorized'] => ({
  missing: 0,
  malformed: 0,
  unknown: 0,
  expired: 0,
  revoked: 0,
  invalidKey: 0,
  keyExpired: 0,
});

function fresh(): Omit<MockStats, 'inFlight'> {
  return {
    requests: 0,
    byStatus: {},
    rateLimited: 0,
    rateLimitedBy: { rate: 0, concurrency: 0, storm: 0 },
    unauthorized: zeroUnauthorized(),
    forbidden: 0,
    tokenExchanges: 0,
    faults: { serverErrors: 0, resets: 0, malformedTokens: 0 },
    peakConcurrency: {},
    perKey: {},
  };
}

export function createStats() {
  let s = fresh();
  const key = (id: string): KeyStats => {
    s.perKey[id] ??= { requests: 0, rateLimited: 0, tokenExchanges: 0, peakConcurrency: 0 };
    return s.perKey[id];
  };
  return {
    request: () => void s.requests++,
    status: (status: number) => void (s.byStatus[status] = (s.byStatus[status] ?? 0) + 1),
    keyRequest: (keyId: string) => void key(keyId).requests++,
    limited(cause: RateLimitCause, keyId: string | undefined) {
      s.rateLimited++;
      s.rateLimitedBy[cause]++;
      if (keyId !== undefined) key(keyId).rateLimited++;
    },
    unauthorized: (reason: UnauthorizedReason) => void s.unauthorized[reason]++,
    forbidden: () => void s.forbidden++,
    tokenIssued: (keyId: string) => {
      s.tokenExchanges++;
      key(keyId).tokenExchanges++;
    },
    fault: (kind: keyof MockStats['faults']) => void s.faults[kind]++,
    concurrency(endpoint: string, keyId: string, count: number) {
      // With the 'path' scope every distinct path is an endpoint; cap the table so memory stays bounded.
      const name = Object.hasOwn(s.peakConcurrency, endpoint) || Object.keys(s.peakConcurrency).length < MAX_ENDPOINTS ? endpoint : OTHER;
      s.peakConcurrency[name] = Math.max(s.peakConcurrency[name] ?? 0, count);
      const k = key(keyId);
      k.peakConcurrency = Math.max(k.peakConcurrency, count);
    },
    snapshot(inFlight: number): MockStats {
      return structuredClone({ ...s, inFlight });
    },
    reset: () => void (s = fresh()),
  };
}

export type Stats = ReturnType<typeof createStats>;
