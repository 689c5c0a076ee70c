// Compile-only: type expectations for @sluice/error-map (checked by `tsc -p test/tsconfig.json`, never run).
import { createBus } from '@sluice/core';
import { ClientError, errorMap, HttpError, type HttpErrorClass, isHttpError, isRateLimitError, RateLimitError } from '@sluice/error-map';

declare const caught: unknown;
if (isRateLimitError(caught)) {
  const at: number | undefined = caught.retryAt;
  const ms: number | undefined = caught.retryAfterMs;
  void [at, ms];
}
if (isHttpError(caught)) {
  const status: number = caught.status;
  void status;
}
// @ts-expect-error unknown until narrowed
void caught.status;

class ConflictError extends ClientError {
  static override code = 'ERR_MY_CONFLICT';
}
const classes: HttpErrorClass[] = [HttpError, RateLimitError, ConflictError];
errorMap({ statuses: { 409: ConflictError, 420: RateLimitError }, classify: ({ status }) => (status === 400 ? classes[0] : undefined) });
// @ts-expect-error a status maps to a class, not a name
errorMap({ statuses: { 409: 'ConflictError' } });
// @ts-expect-error Error is not an HttpError class
errorMap({ statuses: { 409: Error } });

const bus = createBus();
bus.on('error:mapped', (e) => {
  const status: number | undefined = e.status;
  const code: string = e.code;
  void [status, code];
});
