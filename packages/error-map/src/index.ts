import { type Context, describeUrl, type Interceptor, serverDelay } from '@sluice/core';
import { readBody, scrub } from './body.js';
import {
  AuthenticationError,
  ClientError,
  HttpError,
  type HttpErrorClass,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from './errors/http.js';
import { NetworkError, TimeoutError } from './errors/transport.js';

export {
  AuthenticationError,
  ClientError,
  HttpError,
  type HttpErrorClass,
  type HttpErrorInit,
  isHttpError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from './errors/http.js';
export { NetworkError, TimeoutError } from './errors/transport.js';
export type { ErrorMappedEvent } from './events.js';
export * from './guards.js';

/** What `classify` sees of an error response. */
export interface ErrorResponseInfo {
  status: number;
  headers: Headers;
  /** Parsed (JSON) or text body, capped at `maxBodyBytes` and scrubbed. */
  body: unknown;
}

export interface ErrorMapOptions {
  /**
   * Class per status, over the default map. A status listed here is an error even below 400, e.g. `{ 304: HttpError }`.
   * @default {} (401 AuthenticationError, 403 PermissionError, 404 NotFoundError, 429 RateLimitError, other 4xx ClientError, 5xx ServerError)
   */
  statuses?: Readonly<Record<number, HttpErrorClass>>;
  /** Picks the class from the response (status, headers, body) before `statuses`; undefined falls through. @default undefined */
  classify?: (response: ErrorResponseInfo) => HttpErrorClass | undefined;
  /** Return error responses as they are, emitting only `error:mapped`; network failures and timeouts still throw. @default false */
  keepResponse?: boolean;
  /** Most bytes of an error body read into `error.body`; the rest is cancelled. @default 65_536 */
  maxBodyBytes?: number;
  /** Response headers that carry a request id; the first present wins. @default ['x-request-id', 'request-id', 'x-correlation-id', 'x-amzn-requestid', 'cf-ray'] */
  requestIdHeaders?: readonly string[];
  /** Limit for the whole call, retries and waits included, until the response arrives; then `TimeoutError`. @default undefined (none) */
  timeoutMs?: number;
}

export const errorMapDefaults = Object.freeze({
  statuses: Object.freeze({}),
  keepResponse: false,
  maxBodyBytes: 65_536,
  requestIdHeaders: Object.freeze(['x-request-id', 'request-id', 'x-correlation-id', 'x-amzn-requestid', 'cf-ray']),
}) satisfies Required<Omit<ErrorMapOptions, 'classify' | 'timeoutMs'>>;

const noop = () => {};
const byStatus: Record<number, HttpErrorClass> = {
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  429: RateLimitError,
};

function check(ok: boolean, name: string, expected: string, value: unknown): void {
  if (!ok) throw new RangeError(`\`${name}\` must be ${expected}, got ${String(value)}`);
}

function normalize(options: ErrorMapOptions) {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...errorMapDefaults, ...given } as typeof errorMapDefaults & ErrorMapOptions;
  check(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes >= 0, 'maxBodyBytes', 'a non-negative integer', o.maxBodyBytes);
  check(o.timeoutMs === undefined || (Number.isFinite(o.timeoutMs) && o.timeoutMs > 0), 'timeoutMs', 'a positive number', o.timeoutMs);
  check(o.classify === undefined || typeof o.classify === 'function', 'classify', 'a function', o.classify);
  check(Array.isArray(o.requestIdHeaders), 'requestIdHeaders', 'an array of header names', o.requestIdHeaders);
  for (const [status, Class] of Object.entries(o.statuses)) {
    check(typeof Class === 'function', `statuses[${status}]`, 'an HttpError class', Class);
  }
  return o;
}

/** Turns error responses into typed errors, and transport failures into `NetworkError`; aborts stay the signal's reason. */
export function errorMap(options: ErrorMapOptions = {}): Interceptor {
  const o = normalize(options);
  const statuses: Record<number, HttpErrorClass | undefined> = o.statuses;

  async function send(request: Request, next: (request: Request) => Promise<Response>, ctx: Context, method: string, url: string) {
    const { timeoutMs } = o;
    if (timeoutMs === undefined) return next(request);
    // The downstream request carries a signal that the caller's abort and our timer both end, so every wait
    // below (retry pauses, rate-limit queues) is released when the time is up.
    const inner = new AbortController();
    const stop = new AbortController();
    const caller = request.signal;
    const onAbort = () => inner.abort(caller.reason);
    caller.addEventListener('abort', onAbort, { once: true });
    const timeout = new Promise<never>((_, reject) => {
      ctx.clock.sleep(timeoutMs, stop.signal).then(() => {
        const error = new TimeoutError(method, url, timeoutMs);
        inner.abort(error);
        reject(error);
      }, noop);
    });
    try {
      return await Promise.race([next(new Request(request, { signal: inner.signal })), timeout]);
    } catch (error) {
      throw inner.signal.reason instanceof TimeoutError ? inner.signal.reason : error;
    } finally {
      stop.abort();
      caller.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: 'error-map',
    async handle(request, next, ctx) {
      const { bus, clock } = ctx;
      const method = request.method;
      const url = describeUrl(request.url);
      const mapped = (status: number | undefined, code: string) => bus.emit('error:mapped', { method, url, status, code });
      let response: Response;
      try {
        response = await send(request, next, ctx, method, url);
      } catch (error) {
        // An abort rejects with the signal's reason, whatever broke below; sluice's own errors pass unchanged;
        // a TypeError from below is the transport failing.
        if (request.signal.aborted) throw request.signal.reason;
        if ((error as Error | null)?.name !== 'TypeError') {
          if (error instanceof TimeoutError) mapped(undefined, error.code);
          throw error;
        }
        const failure = new NetworkError(method, url, { cause: error });
        mapped(undefined, failure.code);
        throw failure;
      }
      const status = response.status;
      if (status < 400 && !statuses[status]) return response;
      const now = clock.now();
      const body =
        o.keepResponse && !o.classify ? undefined : scrub(await readBody(o.keepResponse ? response.clone() : response, o.maxBodyBytes));
      const Class =
        o.classify?.({ status, headers: response.headers, body }) ??
        statuses[status] ??
        byStatus[status] ??
        (status >= 500 ? ServerError : status >= 400 ? ClientError : HttpError);
      const retryAfterMs = serverDelay(response.headers, now, Class === RateLimitError || Class.prototype instanceof RateLimitError);
      const requestId = o.requestIdHeaders.map((name) => response.headers.get(name)).find(Boolean) || undefined;
      const error = new Class({
        status,
        statusText: scrub(response.statusText) as string,
        method,
        url,
        requestId,
        body,
        retryAfterMs,
        retryAt: retryAfterMs === undefined ? undefined : now + retryAfterMs,
        attempts: ctx.attempt,
      });
      mapped(status, error.code);
      if (o.keepResponse) return response;
      throw error;
    },
  };
}
