import type { Context, Interceptor, SluiceError } from '@sluice/core';
import { describeUrl, isRateLimited, serverDelay } from '@sluice/core/http';
import { readBody, scrub } from './body.js';
import {
  AuthenticationError,
  ClientError,
  type HttpErrorClass,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from './errors/http.js';
import { NetworkError } from './errors/transport.js';
import { isTimeoutError } from './guards.js';

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
export { NetworkError } from './errors/transport.js';
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
}

export const errorMapDefaults = Object.freeze({
  statuses: Object.freeze({}),
  keepResponse: false,
  maxBodyBytes: 65_536,
  requestIdHeaders: Object.freeze(['x-request-id', 'request-id', 'x-correlation-id', 'x-amzn-requestid', 'cf-ray']),
}) satisfies Required<Omit<ErrorMapOptions, 'classify'>>;

const byStatus: Record<number, HttpErrorClass> = {
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  429: RateLimitError,
};

function check(name: string, valid: boolean, expected: string, value: unknown): void {
  if (!valid) throw new RangeError(`\`${name}\` must be ${expected}, got ${String(value)}`);
}

/** Turns error responses into typed errors, and transport failures into `NetworkError`; aborts stay the signal's reason. */
export function errorMap(options: ErrorMapOptions = {}): Interceptor {
  // A default fills in an option that is missing or undefined.
  const {
    statuses = errorMapDefaults.statuses,
    keepResponse = errorMapDefaults.keepResponse,
    maxBodyBytes = errorMapDefaults.maxBodyBytes,
    requestIdHeaders = errorMapDefaults.requestIdHeaders,
    classify,
  } = options;
  check('maxBodyBytes', Number.isInteger(maxBodyBytes) && maxBodyBytes >= 0, 'a non-negative integer', maxBodyBytes);
  check('classify', classify === undefined || typeof classify === 'function', 'a function', classify);
  check('requestIdHeaders', Array.isArray(requestIdHeaders), 'an array of header names', requestIdHeaders);
  for (const [status, Class] of Object.entries(statuses))
    check(`statuses[${status}]`, typeof Class === 'function', 'an HttpError class', Class);
  const classes: Record<number, HttpErrorClass | undefined> = { ...byStatus, ...statuses };
  const mapsOwn403 = Object.hasOwn(statuses, 403);

  /** Emits `error:mapped` for `error` and hands it back. */
  const mapped = (ctx: Context, request: Request, error: SluiceError, status?: number) => {
    ctx.bus.emit('error:mapped', { method: request.method, url: describeUrl(request.url), status, code: error.code });
    return error;
  };

  const toError = async (ctx: Context, request: Request, response: Response) => {
    const { status, headers } = response;
    const now = ctx.clock.now();
    const body = keepResponse ? classify && (await readBody(response.clone(), maxBodyBytes)) : await readBody(response, maxBodyBytes);
    // Below 400 only a status listed in `statuses` gets here, so `classes` has it.
    // A 403 that says it refused for the rate (GitHub's) is a RateLimitError, unless `statuses` maps 403 itself.
    const rateLimited403 = status === 403 && !mapsOwn403 && isRateLimited(response) ? RateLimitError : undefined;
    const Class = classify?.({ status, headers, body }) ?? rateLimited403 ?? classes[status] ?? (status < 500 ? ClientError : ServerError);
    const retryAfterMs = serverDelay(headers, now, Class === RateLimitError || Class.prototype instanceof RateLimitError);
    const error = new Class({
      status,
      statusText: scrub(response.statusText),
      method: request.method,
      url: describeUrl(request.url),
      requestId: requestIdHeaders.map((name) => headers.get(name)).find(Boolean) || undefined,
      body,
      retryAfterMs,
      retryAt: retryAfterMs === undefined ? undefined : now + retryAfterMs,
      attempts: ctx.attempt,
    });
    return mapped(ctx, request, error, status);
  };

  return {
    name: 'error-map',
    async handle(request, next, ctx) {
      let response: Response;
      try {
        response = await next(request);
      } catch (error) {
        // An abort rejects with the signal's reason, whatever broke below; a `TimeoutError` (from `timeout()` below,
        // by its code: any copy of this package) is mapped; sluice's own errors pass unchanged; a TypeError from
        // below is the transport failing.
        if (request.signal.aborted) throw request.signal.reason;
        if (isTimeoutError(error)) throw mapped(ctx, request, error);
        if ((error as Error | null)?.name !== 'TypeError') throw error;
        throw mapped(ctx, request, new NetworkError(request.method, describeUrl(request.url), { cause: error }));
      }
      // The path of every answer that is no error: one comparison, nothing allocated.
      if (response.status < 400 && !classes[response.status]) return response;
      const error = await toError(ctx, request, response);
      if (keepResponse) return response;
      throw error;
    },
  };
}
