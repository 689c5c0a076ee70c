import { describeUrl, hasCode, SluiceError } from '@sluice/core';

const where = (request: Request) => `${request.method} ${describeUrl(request.url)}`;

/** Too many requests wait for this key already (`maxQueue`); nothing was sent. */
export class QueueFullError extends SluiceError {
  override name = 'QueueFullError';
  readonly key: string;
  readonly endpoint: string;

  constructor(key: string, endpoint: string, request: Request) {
    super('ERR_SLUICE_QUEUE_FULL', `rate-limit queue full for key ${key}: ${where(request)}`);
    this.key = key;
    this.endpoint = endpoint;
  }

  protected override safeFields() {
    return ['key', 'endpoint'];
  }
}

/** The request waited `maxWaitMs` in the queue without a slot; nothing was sent. */
export class QueueTimeoutError extends SluiceError {
  override name = 'QueueTimeoutError';
  readonly key: string;
  readonly endpoint: string;
  readonly waitedMs: number;

  constructor(key: string, endpoint: string, request: Request, waitedMs: number) {
    super('ERR_SLUICE_QUEUE_TIMEOUT', `rate-limit queue wait over ${waitedMs} ms for key ${key}: ${where(request)}`);
    this.key = key;
    this.endpoint = endpoint;
    this.waitedMs = waitedMs;
  }

  protected override safeFields() {
    return ['key', 'endpoint', 'waitedMs'];
  }
}

export const isQueueFullError = (value: unknown): value is QueueFullError => hasCode(value, 'ERR_SLUICE_QUEUE_FULL');
export const isQueueTimeoutError = (value: unknown): value is QueueTimeoutError => hasCode(value, 'ERR_SLUICE_QUEUE_TIMEOUT');
