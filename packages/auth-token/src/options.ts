import { isLoopbackHost } from '@sluice/core/http';
import { InsecureTransportError } from './errors.js';
import { memoryTokenStore, type TokenStore } from './store.js';

/** The key itself, or a function that reads it (env var, secret manager). */
export type ApiKeySource = string | (() => string | Promise<string>);

export interface AuthTokenOptions {
  /** The API key, or a function read again at each exchange so a rotated secret is picked up. */
  apiKey: ApiKeySource;
  /** The API's base URL; `tokenUrl` resolves against it. Needed unless `tokenUrl` is absolute. */
  baseUrl?: string | URL;
  /** Token endpoint, absolute or relative to `baseUrl`. @default '/v2/auth/token/access' */
  tokenUrl?: string | URL;
  /** Origins whose requests get the token; every other origin gets none. @default the token URL's origin */
  origins?: readonly (string | URL)[];
  /** Builds the exchange request (method, headers, body) from the key. @default POST JSON `{"api_key": key}` */
  tokenRequest?: (apiKey: string) => RequestInit;
  /** Field of the answer that holds the token. @default 'access_token' */
  tokenField?: string;
  /** Field of the answer that holds the lifetime in seconds (else a JWT's `exp`). @default 'expires_in' */
  expiresInField?: string;
  /** Header that carries the token. @default 'authorization' */
  header?: string;
  /** Word before the token in the header; `''` sends the bare token. @default 'Bearer' */
  scheme?: string;
  /**
   * Refresh in the background once this share of the lifetime is left (1.25 exchanges per lifetime at 0.2); a slow
   * exchange moves it earlier, to 23% of the lifetime at most (1.3 exchanges per lifetime). @default 0.2
   */
  refreshRatio?: number;
  /**
   * A floor: refresh once this many ms are left if that is earlier (at most half the lifetime). The default was 120000
   * before each refresh was planned from how long the last exchange took; a set value works as before. @default 0
   */
  refreshWindowMs?: number;
  /** Stop using a token this long before its expiry, for latency and clock skew (at most 5% of the lifetime). @default 30000 */
  skewMs?: number;
  /** Retries of an exchange after 429, 5xx or a network error. @default 3 */
  maxRetries?: number;
  /** First backoff wait when no `Retry-After` applies; doubles per retry, at most 30 s. @default 1000 */
  retryDelayMs?: number;
  /** Largest streamed request body kept in memory so a 401 can be replayed. @default 1048576 */
  maxReplayBytes?: number;
  /** Allow the key and tokens over `http:` to hosts that are not loopback. @default false */
  allowInsecureHttp?: boolean;
  /** When the API key expires (Date, epoch ms or ISO string); enables `auth:key-expiring`. @default undefined */
  apiKeyExpiresAt?: Date | number | string;
  /** How long before `apiKeyExpiresAt` to emit `auth:key-expiring`, in ms. @default [30 days, 7 days, 1 day] */
  keyExpiryWarningsMs?: readonly number[];
  /** Where tokens are kept. @default memoryTokenStore() */
  store?: TokenStore;
  /**
   * Keeps an exchange alive after the request that started it has ended. On Cloudflare Workers pass
   * `waitUntil` from `cloudflare:workers`, or a background refresh dies with its request. @default undefined
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

const DAY = 86_400_000;

export const authTokenDefaults = Object.freeze({
  tokenUrl: '/v2/auth/token/access',
  tokenRequest: (apiKey: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey }),
  }),
  tokenField: 'access_token',
  expiresInField: 'expires_in',
  header: 'authorization',
  scheme: 'Bearer',
  refreshRatio: 0.2,
  refreshWindowMs: 0,
  skewMs: 30_000,
  maxRetries: 3,
  retryDelayMs: 1000,
  maxReplayBytes: 1_048_576,
  allowInsecureHttp: false,
  keyExpiryWarningsMs: Object.freeze([30 * DAY, 7 * DAY, DAY]) as readonly number[],
}) satisfies Partial<AuthTokenOptions>;

export type Resolved = Required<Omit<AuthTokenOptions, 'baseUrl' | 'origins' | 'apiKeyExpiresAt' | 'tokenUrl' | 'waitUntil'>> & {
  waitUntil?: AuthTokenOptions['waitUntil'];
  tokenUrl: string;
  origins: string[];
  apiKeyExpiresAt: number | undefined;
};

/** Epoch ms of a date option; a RangeError naming the option when it is not a date. */
export function toTime(value: Date | number | string | undefined): number | undefined {
  const at = value === undefined ? value : +new Date(value);
  if (Number.isNaN(at)) throw new RangeError(`\`apiKeyExpiresAt\` must be a date, got ${value}`);
  return at;
}

export function checkKey(value: unknown): void {
  if (typeof value !== 'function' && !(typeof value === 'string' && value.trim())) {
    throw new TypeError('`apiKey` must be a non-empty string or a function returning one');
  }
}

/** Merges options over the defaults once, validating each; throws on http to a non-loopback host. */
export function resolve(options: AuthTokenOptions): Resolved {
  checkKey(options?.apiKey);
  const o = { ...authTokenDefaults } as typeof authTokenDefaults & AuthTokenOptions;
  // The defaults are valid: only the caller's values need checking.
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (typeof value === 'number' && !(value >= 0 && (name !== 'refreshRatio' || value < 1))) {
      throw new RangeError(`\`${name}\` must be a non-negative number${name === 'refreshRatio' ? ' below 1' : ''}, got ${value}`);
    }
    (o as unknown as Record<string, unknown>)[name] = value;
  }
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(o.tokenUrl, o.baseUrl);
  } catch {
    throw new TypeError('`tokenUrl` must be an absolute URL, or `baseUrl` must be given');
  }
  const urls = [tokenUrl, ...(o.origins ?? []).map((x) => new URL(x))];
  for (const { protocol, hostname, origin } of urls) {
    if (protocol === 'http:' && !o.allowInsecureHttp && !isLoopbackHost(hostname)) throw new InsecureTransportError(origin);
  }
  return {
    ...o,
    store: o.store ?? memoryTokenStore(),
    tokenUrl: tokenUrl.href,
    origins: urls.slice(o.origins ? 1 : 0).map((u) => u.origin),
    apiKeyExpiresAt: toTime(o.apiKeyExpiresAt),
    keyExpiryWarningsMs: [...o.keyExpiryWarningsMs].sort((a, b) => b - a),
  };
}
