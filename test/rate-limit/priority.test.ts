import { compose, type Interceptor } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// Marks requests carrying x-priority as the pipeline's own, as auth-token does for its token exchange.
const marker: Interceptor = {
  name: 'marker',
  handle(request, next, ctx) {
    if (request.headers.has('x-priority')) ctx.state.priority = true;
    return next(request);
  },
};

test('a priority request goes before the requests already queued for its key', async () => {
  const clock = createTestClock({ now: 0 });
  const transport = createFakeTransport({ clock }).fallback(() => new Response('ok'));
  const api = compose([marker, rateLimit({ rules: [{ limit: 1, windowMs: 1000 }] })], { fetch: transport.fetch, clock });
  const calls = [1, 2, 3].map((n) => api(`https://api.example/v2/items?n=${n}`));
  await clock.flush();
  calls.push(api('https://api.example/v2/auth/token/access', { method: 'POST', headers: { 'x-priority': '1' } }));
  await clock.advance(5000);
  await Promise.all(calls);
  assert.equal(
    transport.calls.map((c) => `${new URL(c.url).pathname}${new URL(c.url).search}@${c.at}`),
    ['/v2/items?n=1@0', '/v2/auth/token/access@1000', '/v2/items?n=2@2000', '/v2/items?n=3@3000'],
  );
});

test.run();
