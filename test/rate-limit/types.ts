// Compile-only type expectations (checked by `tsc -p test/tsconfig.json`, never run).
import { compose } from '@sluice/core';
import { createMemoryStore, type QueueError, QueueFullError, type RateLimitStore, rateLimit } from '@sluice/rate-limit';

const api = compose([
  rateLimit({
    rules: [
      { limit: 60, windowMs: 60_000 },
      { limit: 1, windowMs: 1000, jitterMs: 50 },
      { limit: 10, windowMs: 1000, burst: 11, jitterMs: 20 },
    ],
  }),
]);
api.events.on('rate-limit:paused', (e) => {
  const reason: '429' | 'remaining' = e.reason;
  const until: number = e.until;
  return [reason, until];
});
api.events.on('rate-limit:rejected', (e) => {
  // @ts-expect-error not a reason rate-limit gives
  const reason: 'queue-full' | 'timeout' = e.reason;
  return reason;
});
api.events.on('rate-limit:queued', (e) => e.queued satisfies number);

// @ts-expect-error a rule needs its window
rateLimit({ rules: [{ limit: 60 }] });
// @ts-expect-error no such option
rateLimit({ burst: 10 });

const store: RateLimitStore = createMemoryStore();
const sync: number = createMemoryStore().pause('k', 0, 0, []);
const error: QueueError = new QueueFullError('k', '/v2/a', new Request('https://api.example/v2/a'));

export { error, store, sync };

// rules: 'auto' learns the policy; the learnt event carries it.
const learning = rateLimit({ rules: 'auto' });
learning.policyOf('k')?.rules satisfies { limit: number; windowMs: number }[] | undefined;
api.events.on('rate-limit:learned', (e) => [
  e.evidence satisfies string,
  e.policy?.source,
  e.tokenExchangeCounted satisfies boolean | undefined,
]);
// @ts-expect-error only 'auto' or an array of rules
rateLimit({ rules: 'learn' });
