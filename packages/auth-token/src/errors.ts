import { SluiceError, type SluiceErrorOptions } from '@sluice/core';

/** Shared fields of auth-token's errors. Messages and `toJSON` never hold the key or a token. */
export class AuthTokenError extends SluiceError {
  override name = 'AuthTokenError';

  constructor(
    code: string,
    message: string,
    /** Token URL, or the origin refused, without query. */
    readonly url: string,
    /** Fingerprint of the key involved, when it was known. */
    readonly keyId?: string,
    /** HTTP status of the last answer, if there was one. */
    readonly status?: number,
    options?: SluiceErrorOptions,
  ) {
    super(code, `${message}: ${url}`, options);
  }

  protected override safeFields(): readonly string[] {
    return ['url', 'keyId', 'status'];
  }
}

/** The token endpoint refused the key (401/403: wrong, expired or revoked), or there was no key. */
export class InvalidApiKeyError extends AuthTokenError {
  override name = 'InvalidApiKeyError';

  constructor(message: string, url: string, keyId?: string, status?: number) {
    super('ERR_SLUICE_INVALID_API_KEY', message, url, keyId, status);
  }
}

/** The token endpoint answered 2xx with a body that holds no usable token or lifetime. */
export class TokenResponseError extends AuthTokenError {
  override name = 'TokenResponseError';

  constructor(problem: string, url: string, keyId?: string, status?: number) {
    super('ERR_SLUICE_TOKEN_RESPONSE', `bad token response (${problem})`, url, keyId, status);
  }
}

/** No token after the retries (5xx, 429, network), an unexpected status, or a key provider that threw. */
export class TokenExchangeError extends AuthTokenError {
  override name = 'TokenExchangeError';

  constructor(message: string, url: string, keyId?: string, status?: number, options?: SluiceErrorOptions) {
    super('ERR_SLUICE_TOKEN_EXCHANGE', message, url, keyId, status, options);
  }
}

/** The key or a token would travel over plain `http:` to a host that is not loopback. */
export class InsecureTransportError extends AuthTokenError {
  override name = 'InsecureTransportError';

  constructor(url: string) {
    super('ERR_SLUICE_INSECURE_TRANSPORT', 'API key or token over http (set allowInsecureHttp to allow)', url);
  }
}
