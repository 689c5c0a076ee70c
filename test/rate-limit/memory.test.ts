import { compose, type Interceptor } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { createMemoryStore, rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// One pipeline whose every call carries a new keyId (as auth-token would set it), over a transport that answers at once.
function manyKeys() {
  const clock = createTestClock();
  const store = createMemoryStore();
  const limiter = rateLimit({ store });
  let n = 0;
  const newKey: Interceptor = {
    name: 'new-key',
    handle(request, next, ctx) {
      ctx.state.keyId = `key-${n++}`;
      return next(request);
    },
  };
  const api = compose([newKey, limiter], { fetch: async () => new Response(null), clock });
  // A URL, not one shared Request: compose would add a listener to that request's signal on every call (slow at 100,000).
  const request = 'https://api.example/v2/items';
  const run = async (count: number) => {
    for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: 10 }, () => api(request)));
  };
  return { clock, store, limiter, run };
}

test('drops the state of idle keys: 100,000 distinct keys leave none once their windows pass', async () => {
  const { clock, store, limiter, run } = manyKeys();
  await run(100_000);
  assert.equal(limiter.stats(), { keys: 0, queued: 0 }, 'no queue state once nothing waits');
  assert.is(clock.pending, 0);
  assert.is(store.prune(clock.now()), 100_000, 'each key is counted for a window');
  await clock.advance(60_000);
  assert.is(store.prune(clock.now()), 0);
  assert.is(store.size, 0);
});

test('keeps the store bounded without prune as traffic moves on to new keys', async () => {
  const { clock, store, run } = manyKeys();
  await run(20_000);
  await clock.advance(60_000);
  await run(20_000);
  assert.ok(store.size <= 21_000, `${store.size} keys held`);
});

test.run();
