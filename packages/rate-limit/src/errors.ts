import { hasCode, SluiceError } from '@sluice/core';
import { describeUrl } from '@sluice/core/http';

/** A request left the rate-limit queue without being sent. */
export class QueueError extends SluiceError {
  readonly key: string;
  readonly endpoint: string;

  constructor(code: string, what: string, key: string, endpoint: string, request: Request) {
    super(code, `rate-limit ${what} for key ${key}: ${request.method} ${describeUrl(request.url)}`);
    this.key = key;
    this.endpoint = endpoint;
  }

  protected override safeFields() {
    return ['key', 'endpoint'];
  }
}

/** Too many requests wait for this key already (`maxQueue`). */
export class QueueFullError extends QueueError {
  override name = 'QueueFullError';

  constructor(key: string, endpoint: string, request: Request) {
    super('ERR_SLUICE_QUEUE_FULL', 'queue full', key, endpoint, request);
  }
}

/** The request waited `maxWaitMs` in the queue without getting a slot. */
export class QueueTimeoutError extends QueueError {
  override name = 'QueueTimeoutError';

  constructor(key: string, endpoint: string, request: Request) {
    super('ERR_SLUICE_QUEUE_TIMEOUT', 'queue wait timed out', key, endpoint, request);
  }
}

export const isQueueFullError = (value: unknown): value is QueueFullError => hasCode(value, 'ERR_SLUICE_QUEUE_FULL');
export const isQueueTimeoutError = (value: unknown): value is QueueTimeoutError => hasCode(value, 'ERR_SLUICE_QUEUE_TIMEOUT');
