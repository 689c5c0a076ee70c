import type { ApiKeySource, AuthTokenOptions } from '@sluice/auth-token';
import type { Clock, Context, FetchLike, Interceptor } from '@sluice/core';
import type { ErrorMapOptions } from '@sluice/error-map';
import type { RateLimitOptions } from '@sluice/rate-limit';
import type { Retry429Options } from '@sluice/retry-429';

/** error-map's options, plus the deadline the preset puts right inside it. */
export interface CyberhavenErrorOptions extends ErrorMapOptions {
  /** Limit for the whole call, retries, queueing and the token exchange included, until the response arrives; then `TimeoutError` (`timeout({ ms })` from `@sluice/error-map/timeout`). @default undefined (none) */
  timeoutMs?: number;
}

export interface CyberhavenOptions {
  /** The tenant's URL, e.g. `https://acme.cyberhaven.io`; a `/v2` path is accepted and dropped. `https:` unless loopback. */
  baseUrl: string | URL;
  /** The API key, or a function read again at each token exchange, so a rotated secret is picked up. */
  apiKey: ApiKeySource;
  /** Transport at the end of the pipeline. @default the global `fetch`, looked up at each call */
  fetch?: FetchLike;
  /** Time source of every interceptor; `createTestClock()` in tests. @default `systemClock` */
  clock?: Clock;
  /** auth-token options over the preset's (`apiKey` and `baseUrl` come from above). @default `cyberhavenDefaults.auth` */
  auth?: Omit<AuthTokenOptions, 'apiKey' | 'baseUrl'>;
  /** rate-limit options over the preset's. @default `cyberhavenDefaults.rateLimit` */
  rateLimit?: RateLimitOptions;
  /** retry-429 options over the preset's. @default `{}` (retry-429's defaults) */
  retry?: Retry429Options;
  /** error-map options over the preset's, and `timeoutMs` for the deadline. @default `{}` (error-map's defaults, no deadline) */
  errors?: CyberhavenErrorOptions;
  /** Interceptors placed after rate-limit, next to the transport, such as `monitor()`: they see every request sent. @default [] */
  inner?: readonly Interceptor[];
}

// The documented event-details path form `/v2/event-details/a,b` is one endpoint whatever the ids: the API does not say
// whether its concurrency cap counts per path or per route, and counting per route is safe under both readings.
const ROUTE_PREFIXES = ['/v2/event-details/'];

/** The endpoint a request counts against for the concurrency cap: its path, with ids in the path collapsed. */
export function cyberhavenEndpoint(request: Request, ctx: Context): string {
  if (ctx.state.endpoint) return ctx.state.endpoint;
  const path = new URL(request.url).pathname;
  const prefix = ROUTE_PREFIXES.find((p) => path.startsWith(p));
  return prefix ? prefix.slice(0, -1) : path;
}

/**
 * What the Cyberhaven v2 API documents: tokens from `/v2/auth/token/access`, 60 requests a minute per key, 5 in flight
 * per endpoint. The documented rule is where the limiter starts; the answers confirm or correct it (`rules: 'auto'`).
 */
export const cyberhavenDefaults = Object.freeze({
  auth: Object.freeze({ tokenUrl: '/v2/auth/token/access' }),
  rateLimit: Object.freeze({
    rules: 'auto' as const,
    startFrom: Object.freeze([Object.freeze({ limit: 60, windowMs: 60_000 })]),
    concurrency: 5,
    endpoint: cyberhavenEndpoint,
  }),
  retry: Object.freeze({}),
  errors: Object.freeze({}),
}) satisfies { auth: Partial<AuthTokenOptions>; rateLimit: RateLimitOptions; retry: Retry429Options; errors: CyberhavenErrorOptions };

const defined = <T extends object>(value: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

function section<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new TypeError(`\`${name}\` must be an object of options, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  }
  return defined(value);
}

/** The tenant's origin from `baseUrl`; only `http:`/`https:` and an empty or `/v2` path are accepted. */
function originOf(baseUrl: unknown): string {
  if (baseUrl === undefined || baseUrl === null || baseUrl === '') {
    throw new TypeError('`baseUrl` is required: the tenant URL, like https://acme.cyberhaven.io');
  }
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    throw new TypeError(`\`baseUrl\` must be an absolute URL, like https://acme.cyberhaven.io, got ${String(baseUrl).slice(0, 100)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`\`baseUrl\` must be an https URL, got ${url.protocol}`);
  }
  if (!/^\/(v2\/?)?$/.test(url.pathname) || url.search || url.hash || url.username || url.password) {
    throw new TypeError(`\`baseUrl\` must be the tenant's origin (a \`/v2\` path is allowed), got ${url.origin}${url.pathname}`);
  }
  return url.origin;
}

export function resolveOptions(options: CyberhavenOptions) {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('`createCyberhavenClient()` needs an options object with `baseUrl` and `apiKey`');
  const origin = originOf(options.baseUrl);
  const auth = { ...cyberhavenDefaults.auth, ...section('auth', options.auth) };
  const given = section('rateLimit', options.rateLimit);
  // Rules given by hand replace the learning, and where it starts.
  const preset = Array.isArray(given.rules) ? { ...cyberhavenDefaults.rateLimit, startFrom: undefined } : cyberhavenDefaults.rateLimit;
  const rateLimit = { ...preset, ...given };
  const retry = { ...cyberhavenDefaults.retry, ...section('retry', options.retry) };
  const errors = { ...cyberhavenDefaults.errors, ...section('errors', options.errors) };
  // Checked here so the message names the preset's option, not `timeout()`'s `ms`.
  const { timeoutMs } = errors;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new RangeError(`\`errors.timeoutMs\` must be a positive number, got ${String(timeoutMs)}`);
  return {
    origin,
    apiKey: options.apiKey,
    fetch: options.fetch,
    clock: options.clock,
    auth,
    rateLimit,
    retry,
    errors,
    inner: options.inner ?? [],
  };
}
