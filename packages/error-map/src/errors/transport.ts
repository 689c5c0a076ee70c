import { SluiceError, type SluiceErrorOptions } from '@sluice/core';

/** No response: the transport failed (DNS, refused or reset connection, TLS). The transport's error is `cause`. */
export class NetworkError extends SluiceError {
  override name = 'NetworkError';
  declare readonly method: string;
  declare readonly url: string;

  constructor(method: string, url: string, options?: SluiceErrorOptions) {
    super('ERR_SLUICE_NETWORK', `network error: ${method} ${url}`, options);
    Object.assign(this, { method, url });
  }

  protected override safeFields(): readonly string[] {
    return ['method', 'url'];
  }
}

/** The deadline of `timeout()` (`@sluice/error-map/timeout`) ran out before a response arrived (retries and waits included). */
export class TimeoutError extends SluiceError {
  override name = 'TimeoutError';
  declare readonly method: string;
  declare readonly url: string;
  declare readonly timeoutMs: number;

  constructor(method: string, url: string, timeoutMs: number) {
    super('ERR_SLUICE_TIMEOUT', `timed out after ${timeoutMs} ms: ${method} ${url}`);
    Object.assign(this, { method, url, timeoutMs });
  }

  protected override safeFields(): readonly string[] {
    return ['method', 'url', 'timeoutMs'];
  }
}
