import { hasCode } from '@sluice/core';
import { AuthenticationError, ClientError, NotFoundError, PermissionError, RateLimitError, ServerError } from './errors/http.js';
import type { NetworkError } from './errors/transport.js';
import type { TimeoutError } from './timeout.js';

// By stable `code` and the sluice brand, never `instanceof`: an error made by the CJS copy of this package
// still passes the guard of the ESM copy.
const guard =
  <T extends Error>(code: string) =>
  (value: unknown): value is T =>
    hasCode(value, code);

export const isAuthenticationError = guard<AuthenticationError>(AuthenticationError.code);
export const isPermissionError = guard<PermissionError>(PermissionError.code);
export const isRateLimitError = guard<RateLimitError>(RateLimitError.code);
export const isNotFoundError = guard<NotFoundError>(NotFoundError.code);
export const isClientError = guard<ClientError>(ClientError.code);
export const isServerError = guard<ServerError>(ServerError.code);
export const isNetworkError = guard<NetworkError>('ERR_SLUICE_NETWORK');
export const isTimeoutError = guard<TimeoutError>('ERR_SLUICE_TIMEOUT');
