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
