import { SluiceError } from '@sluice/core';

const HTTP_BRAND = Symbol.for('sluice.http-error');

/** What an `HttpError` is built from; every field is safe to log. */
export interface HttpErrorInit {
  status: number;
  statusText: string;
  method: string;
  /** Origin and path only: the query is dropped, since APIs put keys and tokens there. */
  url: string;
  /** From the first request-id header the response carried. */
  requestId?: string | undefined;
  /** Response body, parsed as JSON when it is JSON, else text; capped and scrubbed of token-like values. */
  body?: unknown;
  /** The wait the server asked for (`Retry-After`, else on a rate limit the reset), uncapped. */
  retryAfterMs?: number | undefined;
  /** Epoch milliseconds after which a retry may succeed: the response time plus `retryAfterMs`. */
  retryAt?: number | undefined;
  /** Attempts made for this call, retries included. */
  attempts?: number | undefined;
}

/** A class `errorMap` can throw for a status: one of the classes below, or your own subclass of them. */
export type HttpErrorClass = new (init: HttpErrorInit) => HttpError;

/**
 * A response with an error status. The message names status, method and URL, never the query, a header or
 * the body; `toJSON` leaves the body out too, since a server may echo what it was sent. Subclasses set the
 * static `code` and `what` (the phrase in the message); a subclass of yours inherits them unless it sets its own.
 */
export class HttpError extends SluiceError {
  static code = 'ERR_SLUICE_HTTP';
  static what = 'HTTP error';
  override name = 'HttpError';
  declare readonly status: number;
  declare readonly statusText: string;
  declare readonly method: string;
  declare readonly url: string;
  declare readonly requestId: string | undefined;
  declare readonly body: unknown;
  declare readonly retryAfterMs: number | undefined;
  declare readonly retryAt: number | undefined;
  declare readonly attempts: number | undefined;

  constructor(init: HttpErrorInit) {
    const { code, what } = new.target as typeof HttpError;
    const after = init.retryAfterMs === undefined ? '' : ` (retry after ${Math.ceil(init.retryAfterMs / 1000)}s)`;
    super(code, `${init.status} ${what}: ${init.method} ${init.url}${after}`);
    Object.assign(this, init);
  }

  /** The brand `isHttpError` looks for, on the prototype: not enumerable, not serialised, shared by every copy. */
  get [HTTP_BRAND](): true {
    return true;
  }

  protected override safeFields(): readonly string[] {
    return ['status', 'statusText', 'method', 'url', 'requestId', 'retryAfterMs', 'retryAt', 'attempts'];
  }
}

/** True for an `HttpError` of any class, from any copy of this package. */
export const isHttpError = (value: unknown): value is HttpError => (value as Record<symbol, unknown> | undefined)?.[HTTP_BRAND] === true;

/** 401: the token is missing, invalid or expired. */
export class AuthenticationError extends HttpError {
  static override code = 'ERR_SLUICE_AUTHENTICATION';
  static override what = 'invalid or expired token';
  override name = 'AuthenticationError';
}

/** 403: the credentials are valid but lack the permission (on Cyberhaven, the API key's role). */
export class PermissionError extends HttpError {
  static override code = 'ERR_SLUICE_PERMISSION';
  static override what = 'insufficient permissions';
  override name = 'PermissionError';
}

/** 429: rate limited. `retryAfterMs` and `retryAt` say when to try again, when the server said. */
export class RateLimitError extends HttpError {
  static override code = 'ERR_SLUICE_RATE_LIMITED';
  static override what = 'rate limited';
  override name = 'RateLimitError';
}

/** 404. */
export class NotFoundError extends HttpError {
  static override code = 'ERR_SLUICE_NOT_FOUND';
  static override what = 'not found';
  override name = 'NotFoundError';
}

/** Any other 4xx. */
export class ClientError extends HttpError {
  static override code = 'ERR_SLUICE_CLIENT';
  static override what = 'client error';
  override name = 'ClientError';
}

/** 5xx. */
export class ServerError extends HttpError {
  static override code = 'ERR_SLUICE_SERVER';
  static override what = 'server error';
  override name = 'ServerError';
}
