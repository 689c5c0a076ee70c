import { SluiceError, type SluiceErrorOptions } from '@sluice/core';

/** No response: the transport failed (DNS, refused or reset connection, TLS). The transport's error is `cause`. */
export class NetworkError extends SluiceError {
  override name = 'NetworkError';

  constructor(
    readonly method: string,
    readonly url: string,
    options?: SluiceErrorOptions,
  ) {
    super('ERR_SLUICE_NETWORK', `network error: ${method} ${url}`, options);
  }

  protected override safeFields(): readonly string[] {
    return ['method', 'url'];
  }
}

/** error-map's own `timeoutMs` ran out before a response arrived (retries and waits included). */
export class TimeoutError extends SluiceError {
  override name = 'TimeoutError';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super('ERR_SLUICE_TIMEOUT', `timed out after ${timeoutMs} ms: ${method} ${url}`);
  }

  protected override safeFields(): readonly string[] {
    return ['method', 'url', 'timeoutMs'];
  }
}
