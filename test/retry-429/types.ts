// Compile-only: type expectations for @sluice/retry-429 (checked by `tsc -p test/tsconfig.json`, never run).
import { createBus } from '@sluice/core';
import { type ExhaustedReason, type RetryReason, retry429, retry429Defaults } from '@sluice/retry-429';

const bus = createBus();
bus.on('retry:scheduled', (e) => {
  const reason: RetryReason = e.reason;
  const n: number = e.attempt + e.delayMs;
  void [reason, n, e.method, e.url];
});
bus.on('retry:exhausted', (e) => {
  const reason: ExhaustedReason = e.reason;
  const status: number | undefined = e.status;
  void [reason, status, e.attempts];
});
bus.emit('retry:scheduled', { method: 'GET', url: 'u', attempt: 2, delayMs: 1, reason: 'rate-limited' });
// @ts-expect-error not a retry reason
bus.emit('retry:scheduled', { method: 'GET', url: 'u', attempt: 2, delayMs: 1, reason: 'bored' });
// @ts-expect-error payloads are complete
bus.emit('retry:exhausted', { method: 'GET', url: 'u', reason: 'max-retries' });

retry429({ budget: { ratio: 0.2 } });
// @ts-expect-error a budget needs a ratio
retry429({ budget: { windowMs: 1000 } });
// @ts-expect-error no such option
retry429({ retries: 3 });
// @ts-expect-error defaults are read-only
retry429Defaults.maxRetries = 5;
