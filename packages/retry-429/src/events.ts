/** Why a retry was scheduled. */
export type RetryReason = 'rate-limited' | 'unavailable' | 'network-error';

/** Why retry-429 stopped and handed the last outcome to the caller. */
export type ExhaustedReason = 'max-retries' | 'delay-too-long' | 'budget-exhausted' | 'body-not-replayable';

declare module '@sluice/core' {
  interface SluiceEvents {
    /** A retry will be sent after `delayMs`; `attempt` is the number of the attempt to come (2 for the first retry). */
    'retry:scheduled': { method: string; url: string; attempt: number; delayMs: number; reason: RetryReason };
    /** retry-429 gave up: the caller gets the last response (or error) as it is. `status` is undefined after a network error. */
    'retry:exhausted': { method: string; url: string; attempts: number; status: number | undefined; reason: ExhaustedReason };
  }
}
