import { type AuthTokenInterceptor, authToken } from '@sluice/auth-token';
import { compose, type EventBus, type Interceptor, type SluiceFetch } from '@sluice/core';
import { errorMap } from '@sluice/error-map';
import { timeout } from '@sluice/error-map/timeout';
import { type RateLimiter, rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { type $Fetch, ofetch } from 'ofetch';
import { type CyberhavenOptions, resolveOptions } from './options.js';
import { type ListBody, type PaginateOptions, paginate } from './paginate.js';

// What a caller catches, importable from the preset alone.
export { InsecureTransportError, InvalidApiKeyError, TokenExchangeError, TokenResponseError } from '@sluice/auth-token';
export { ClosedError, hasCode, isSluiceError, SluiceError } from '@sluice/core';
export {
  AuthenticationError,
  ClientError,
  HttpError,
  isAuthenticationError,
  isClientError,
  isHttpError,
  isNetworkError,
  isNotFoundError,
  isPermissionError,
  isRateLimitError,
  isServerError,
  isTimeoutError,
  NetworkError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from '@sluice/error-map';
export { TimeoutError } from '@sluice/error-map/timeout';
export { isQueueFullError, isQueueTimeoutError, QueueFullError, QueueTimeoutError } from '@sluice/rate-limit';
export { isPaginationError, PaginationError } from './errors.js';
export { type CyberhavenErrorOptions, type CyberhavenOptions, cyberhavenDefaults, cyberhavenEndpoint } from './options.js';
export type { ListBody, PaginateOptions } from './paginate.js';

export interface CyberhavenClient {
  /** The composed pipeline: a drop-in `fetch` for any client. Relative paths are not resolved; pass full URLs. */
  readonly fetch: SluiceFetch;
  /** Every interceptor's events, on one bus. */
  readonly events: EventBus;
  /** ofetch bound to the pipeline and the tenant: `$fetch('/v2/event-details', { query: { ids } })`. Rejects with sluice's typed errors. */
  readonly $fetch: $Fetch;
  /** Every item of a list endpoint (`POST`, `page_request`/`page_response` paging), fetched page by page as you iterate. */
  paginate<T = Record<string, unknown>>(path: string, body?: ListBody, options?: PaginateOptions): AsyncGenerator<T, void, undefined>;
  /** The interceptors, in pipeline order (outermost first): `auth.rotate()`, `rateLimit.stats()`. `timeout` only with `errors.timeoutMs`. */
  readonly interceptors: {
    readonly errors: Interceptor;
    readonly timeout?: Interceptor;
    readonly retry: Interceptor;
    readonly auth: AuthTokenInterceptor;
    readonly rateLimit: RateLimiter;
  };
  /** Tears the pipeline down: timers, listeners and queued calls (they reject with `ClosedError`). */
  close(): Promise<void>;
}

/**
 * A client for the Cyberhaven v2 API: `[errorMap(), retry429(), authToken(), rateLimit()]` composed with the API's
 * documented defaults, so a 429 is retried through a fresh token and counted again, and only the final outcome is mapped.
 * With `errors.timeoutMs`, `timeout()` goes right after `errorMap()`, so the deadline covers retries, queueing and the token exchange.
 */
export function createCyberhavenClient(options: CyberhavenOptions): CyberhavenClient {
  const o = resolveOptions(options);
  const { timeoutMs, ...errors } = o.errors;
  const interceptors = Object.freeze({
    errors: errorMap(errors),
    ...(timeoutMs === undefined ? {} : { timeout: timeout({ ms: timeoutMs }) }),
    retry: retry429(o.retry),
    auth: authToken({ ...o.auth, apiKey: o.apiKey, baseUrl: o.origin }),
    rateLimit: rateLimit(o.rateLimit),
  });
  const fetch = compose([...Object.values(interceptors), ...o.inner], { fetch: o.fetch, clock: o.clock });
  // Retrying is the pipeline's job, so ofetch's own retry is off; its hook passes sluice's typed errors through unwrapped.
  const $fetch = ofetch.create(
    {
      baseURL: o.origin,
      retry: false,
      onRequestError({ error }) {
        throw error;
      },
    },
    { fetch },
  );
  return {
    fetch,
    events: fetch.events,
    $fetch,
    paginate: (path, body, paging) => paginate(fetch, new URL(path, o.origin).href, body, paging),
    interceptors,
    close: () => fetch.close(),
  };
}
