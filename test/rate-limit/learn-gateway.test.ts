// rules: 'auto' behind an API gateway that announces each period's quota in headers of its own (Kong's rate-limiting
// plugin, and plugins modelled on it: `X-RateLimit-Limit-Second: 10`, `X-RateLimit-Remaining-Minute: 95`, beside
// `RateLimit-Limit/-Remaining/-Reset` for the quota closest to running out). Each period is a rule at once, as
// `RateLimit-Policy` would announce it. On the virtual clock.
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { autoBurst } from './auto-burst.js';
import { seeded } from './models.js';

const ORIGIN = 'https://api.example';
const PERIODS = [
  { name: 'Second', limit: 10, windowMs: 1000 },
  { name: 'Minute', limit: 100, windowMs: 60_000 },
];

/** A gateway counting fixed windows aligned to the clock per period, answering as Kong does; 20 to 40 ms each way. */
function gateway(clock: TestClock) {
  const random = seeded(7);
  const counts = PERIODS.map(() => ({ window: -1, count: 0 }));
  const server = { refused: 0 };
  const fetch = async () => {
    await clock.sleep(20 + random() * 20);
    const now = clock.now();
    const usage = PERIODS.map((p, i) => {
      const c = counts[i] as { window: number; count: number };
      const window = Math.floor(now / p.windowMs);
      if (c.window !== window) Object.assign(c, { window, count: 0 });
      return { ...p, c, resetMs: (window + 1) * p.windowMs - now };
    });
    const ok = usage.every((u) => u.c.count < u.limit);
    if (ok) for (const u of usage) u.c.count++;
    else server.refused++;
    const headers = new Headers();
    for (const u of usage) {
      headers.set(`x-ratelimit-limit-${u.name}`, String(u.limit));
      headers.set(`x-ratelimit-remaining-${u.name}`, String(Math.max(0, u.limit - u.c.count)));
    }
    // The quota closest to running out, its reset in whole seconds from now.
    const closest = usage.reduce((a, b) => (b.limit - b.c.count < a.limit - a.c.count ? b : a));
    headers.set('ratelimit-limit', String(closest.limit));
    headers.set('ratelimit-remaining', String(Math.max(0, closest.limit - closest.c.count)));
    headers.set('ratelimit-reset', String(Math.ceil(closest.resetMs / 1000)));
    if (!ok) headers.set('retry-after', String(Math.ceil(closest.resetMs / 1000)));
    await clock.sleep(20 + random() * 20);
    return new Response(ok ? 'ok' : 'API rate limit exceeded', { status: ok ? 200 : 429, headers });
  };
  return { server, fetch };
}

test("auto behind a gateway's per-period headers: each period a rule from the first answer, no 429", async () => {
  // At the start of a minute, as the windows are aligned to the clock.
  const clock = createTestClock({ now: Date.UTC(2026, 0, 1) });
  const { server, fetch } = gateway(clock);
  const urls = Array.from({ length: 250 }, (_, i) => `${ORIGIN}/v2/e${i % 3}`);
  const { limiter, learnt, tookMs } = await autoBurst(clock, fetch, urls);
  assert.is(server.refused, 0);
  assert.equal(limiter.policyOf(ORIGIN)?.rules, [
    { limit: 10, windowMs: 1000 },
    { limit: 100, windowMs: 60_000 },
  ]);
  assert.is(learnt[0]?.evidence, 'X-RateLimit-Limit-<period> headers announced 10 per 1000 ms and 100 per 60000 ms');
  // 250 requests at 100 a minute: the third minute's 50, from 120 s on at 10 a second, the last in its fifth second.
  assert.ok(tookMs >= 124_000 && tookMs < 125_000, `${tookMs} ms`);
});

test.run();
