// The limiter at every scale: windows from 10 ms to a day, limits from 1 to 10 million, latencies that jump, servers
// that count three ways, with and without quota headers, and 429 storms the server sends for no reason of the client's.
import { compose } from '@sluice/core';
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { createMemoryStore, LOG_CELLS, rateLimit } from '@sluice/rate-limit';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { counter, quotaHeaders } from '../bench/scale-servers.mjs';
import { seeded } from '../rate-limit/models.js';
import { heavy } from './config.js';
import { runUntil } from './run.js';

// The servers are the scale benchmark's (test/bench/scale-servers.mjs): a sliding log, fixed windows, a GCRA bucket.
type Kind = 'sliding' | 'fixed' | 'bucket';
type Headers = 'none' | 'x-ratelimit' | 'ietf';

interface Latency {
  /** Each leg's floor and noise, ms; a spike adds `spikeMs` to a leg with probability `spikeChance`. */
  floorMs: number;
  noiseMs: number;
  spikeMs: number;
  spikeChance: number;
  /** From `shiftAt` (share of the run) on, every leg is `shiftMs` slower: a lasting jump. */
  shiftAt: number;
  shiftMs: number;
}

const logUniform = (min: number, max: number) => fc.double({ min: Math.log(min), max: Math.log(max), noNaN: true }).map(Math.exp);

const scenario = fc.record({
  kind: fc.constantFrom<Kind>('sliding', 'fixed', 'bucket'),
  headers: fc.constantFrom<Headers>('none', 'x-ratelimit', 'ietf'),
  windowMs: logUniform(10, 86_400_000).map((w) => Math.max(10, Math.round(w))),
  limit: logUniform(1, 10_000_000).map((l) => Math.max(1, Math.round(l))),
  latency: fc.record({
    floorMs: fc.nat({ max: 200 }),
    noiseMs: fc.nat({ max: 300 }),
    spikeMs: fc.nat({ max: 3000 }),
    spikeChance: fc.double({ min: 0, max: 0.3, noNaN: true }),
    shiftAt: fc.double({ min: 0, max: 1, noNaN: true }),
    shiftMs: fc.nat({ max: 1000 }),
  }),
  requests: fc.integer({ min: 1, max: 300 }),
  bursts: fc.integer({ min: 1, max: 5 }),
  stormAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  seed: fc.integer(),
});

test('at any window (10 ms to a day), limit (1 to 10 million), latency with jumps, server kind and headers: no request over the limit, no 429 but a storm, bounded state', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock: TestClock = createTestClock({ flushRounds: 1 });
      const t0 = clock.now();
      const random = seeded(s.seed);
      const server = counter(s.kind, s.limit, s.windowMs);
      const span = s.windowMs * 3;
      const stormFrom = s.stormAt === undefined ? Number.POSITIVE_INFINITY : t0 + s.stormAt * span;
      const stormUntil = stormFrom + Math.min(5000, s.windowMs);
      const leg = (l: Latency) => () => {
        const shifted = clock.now() - t0 >= l.shiftAt * span ? l.shiftMs : 0;
        return l.floorMs + random() * l.noiseMs + (random() < l.spikeChance ? l.spikeMs : 0) + shifted;
      };
      const way = leg(s.latency);
      let overLimit = 0;
      let refusedOutsideStorm = 0;
      const transport = async () => {
        await clock.sleep(way());
        const now = clock.now();
        const headers: Record<string, string> = {};
        let status = 200;
        if (now >= stormFrom && now < stormUntil) {
          status = 429;
          headers['retry-after'] = String(Math.ceil((stormUntil - now) / 1000));
        } else if (!server.admit(now)) {
          status = 429;
          refusedOutsideStorm++;
          overLimit++;
        }
        Object.assign(headers, quotaHeaders(s.headers, s.limit, s.windowMs, server.quota(now), now));
        await clock.sleep(way());
        return new Response(null, { status, headers });
      };
      const store = createMemoryStore();
      const limiter = rateLimit({
        rules: [{ limit: s.limit, windowMs: s.windowMs }],
        concurrency: 1000,
        maxQueue: 100_000,
        store,
        key: () => 'k',
      });
      const api = compose([limiter], { fetch: transport, clock });
      let settled = 0;
      let peakEntries = 0;
      api.events.on('rate-limit:acquired', () => {
        for (const rule of store.stateOf('k')?.rules ?? []) peakEntries = Math.max(peakEntries, rule.entries);
      });
      let left = s.requests;
      for (let b = 0; b < s.bursts && left > 0; b++) {
        const size = b === s.bursts - 1 ? left : Math.max(1, Math.floor(random() * left));
        left -= size;
        const at = b === 0 ? 0 : random() * span;
        clock.sleep(at).then(() => {
          for (let i = 0; i < size; i++)
            api(`https://api.example/v2/e${i % 3}`).then(
              () => settled++,
              () => settled++,
            );
        });
      }
      assert.ok(await runUntil(clock, () => settled === s.requests), 'every call settled');
      assert.is(refusedOutsideStorm, 0, `${overLimit} requests over the server's limit`);
      assert.ok(peakEntries <= Math.min(s.limit, LOG_CELLS) + 2, `${peakEntries} log entries at a limit of ${s.limit}`);
      assert.equal(limiter.stats(), { keys: 0, queued: 0 });
      await api.close();
      assert.is(clock.pending, 0, 'no timer left');
    }),
    heavy,
  );
});

test.run();
