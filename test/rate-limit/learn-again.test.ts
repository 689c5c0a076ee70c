// rules: 'auto', a rule learnt from 429s alone: once it has held requests back for 8 times its limit and five minutes
// without a 429, a window a step shorter is tried again, so a server that allows more later (a plan upgraded) is
// followed; against one that never changes, each try refused makes the next wait twice as long. On the virtual clock.
import { compose, type SluiceEvents } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from '../helpers/index.js';
import { seeded, slidingLog } from './models.js';

const ORIGIN = 'https://api.example';
/**
 * `count` requests at once against a sliding log of 20 per 2 s that answers its 429s with `Retry-After` only and allows
 * 40 per 2 s from `upgradeAt` on (ms after the start), 25 to 75 ms each way.
 */
async function run(count: number, upgradeAt: number, seed: number) {
  const clock = createTestClock();
  const t0 = clock.now();
  const random = seeded(seed);
  let server = slidingLog(20, 2000);
  let upgraded = false;
  const refusedAt: number[] = [];
  const admittedAt: number[] = [];
  const fetch = async () => {
    await clock.sleep(25 + random() * 50);
    const now = clock.now() - t0;
    if (!upgraded && now >= upgradeAt) [upgraded, server] = [true, slidingLog(40, 2000)];
    const ok = server.admit(clock.now());
    (ok ? admittedAt : refusedAt).push(now);
    const headers: Record<string, string> = ok
      ? {}
      : { 'retry-after': String(Math.max(1, Math.ceil(server.retryAfter(clock.now()) / 1000))) };
    await clock.sleep(25 + random() * 50);
    return new Response(null, { status: ok ? 200 : 429, headers });
  };
  const limiter = rateLimit({ rules: 'auto', maxQueue: count });
  const api = compose([limiter], { fetch, clock });
  const tries: number[] = [];
  const learnt: SluiceEvents['rate-limit:learned'][] = [];
  api.events.on('rate-limit:learned', (e) => {
    learnt.push(e);
    if (e.evidence.endsWith(' again')) tries.push(clock.now() - t0);
  });
  let last = 0;
  const calls = Array.from({ length: count }, (_, i) => api(`${ORIGIN}/v2/e${i % 3}`).then(() => (last = clock.now() - t0)));
  await drive(clock, Promise.all(calls), { stepMs: 50, limitMs: 2 * 3_600_000 });
  await api.close();
  const rate = (from: number, to: number) => admittedAt.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
  return { refusedAt, tries, learnt, last, rate, policy: limiter.policyOf(ORIGIN) };
}

test('auto, 429s alone: a server that allows twice as much later is followed once the rule held requests back five minutes', async () => {
  const r = await run(6000, 100_000, 5);
  // About 9 a second until then (20 per 2.2 s learnt, against 20 per 2 s), with no 429 since the search.
  const before = r.rate(40_000, 100_000);
  assert.ok(before > 8 && before < 10, `${before.toFixed(2)}/s before the upgrade`);
  assert.ok((r.tries[0] as number) >= 300_000, `tried again at ${r.tries[0]} ms`);
  // Found within a minute of the try: its steps, each held for two limits' worth of answers, bring the window down.
  const after = r.rate(r.last - 100_000, r.last);
  assert.ok(after > 17, `${after.toFixed(2)}/s over the last 100 s, the server allowing 20`);
  const rule = r.policy?.rules[0];
  assert.ok(rule && rule.limit === 20 && rule.windowMs <= 1100, JSON.stringify(r.policy));
  // The start (two), the first search (up to four), and the search again ends with its first step refused.
  assert.ok(r.refusedAt.length <= 8, `${r.refusedAt.length} 429s at ${r.refusedAt.map(Math.round).join(', ')} ms`);
});

for (const seed of [6, 7])
  test(`auto, 429s alone, a server that never changes: tried again after five minutes, then ten, each try one to three 429s (seed ${seed})`, async () => {
    const r = await run(8000, Number.POSITIVE_INFINITY, seed);
    assert.ok(r.tries.length >= 1 && r.tries.length <= 3, `tried again at ${r.tries.join(', ')} ms`);
    for (let i = 1; i < r.tries.length; i++) assert.ok((r.tries[i] as number) - (r.tries[i - 1] as number) >= 300_000);
    const afterSearch = r.refusedAt.filter((t) => t >= (r.tries[0] as number)).length;
    assert.ok(afterSearch <= 3 * r.tries.length, `${afterSearch} 429s since the first try, ${r.tries.length} tries`);
    // It ends at the rule the tries started from, or one they found that held since: never far from the server's.
    const rule = r.policy?.rules[0];
    assert.ok(rule && rule.limit === 20 && rule.windowMs >= 1850 && rule.windowMs <= 2300, JSON.stringify(r.policy));
  });

test.run();
