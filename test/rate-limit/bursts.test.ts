import { compose } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { type RateLimitOptions, rateLimit } from '@sluice/rate-limit';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Counting, createServer, minimumCompletion, type ServerOptions, seeded } from './models.js';

const LIMIT = 60;
const WINDOW = 60_000;
const MIN_LATENCY = 5;

interface Run {
  requests: number;
  endpoints: number;
  bursts: number;
  refused: number;
  maxClientInFlight: number;
  maxServerInFlight: number;
  tookMs: number;
  minimumMs: number;
}

// Random bursts adding up to `total` requests over a few endpoints: the first at the start, the rest within
// 90 s; each burst issues all its requests at one instant.
async function burst(
  counting: Counting,
  seed: number,
  headers: boolean,
  total = 1000,
  options: RateLimitOptions = {},
  countAt: ServerOptions['countAt'] = 'arrival',
): Promise<Run> {
  const random = seeded(seed);
  const clock = createTestClock();
  const server = createServer({ clock, counting, random, limit: LIMIT, windowMs: WINDOW, headers, latency: [MIN_LATENCY, 200], countAt });
  const api = compose([rateLimit(options)], { fetch: server.fetch, clock });
  const endpoints = 3 + Math.floor(random() * 4);
  const bursts = 1 + Math.floor(random() * 4);
  const t0 = clock.now();
  const issues: number[] = [];
  const calls: Promise<unknown>[] = [];
  let lastResponse = t0;
  let left = total;
  for (let b = 0; b < bursts; b++) {
    const size = b === bursts - 1 ? left : Math.min(left, Math.max(1, Math.floor(random() * (total / bursts) * 1.5)));
    left -= size;
    const at = b === 0 ? 0 : Math.floor(random() * 90_000);
    const paths = Array.from({ length: size }, () => Math.floor(random() * endpoints));
    calls.push(
      clock.sleep(at).then(() =>
        Promise.all(
          paths.map(async (p) => {
            issues.push(clock.now());
            const response = await api(`https://api.example/v2/ep${p}?page=${p}`);
            assert.is(response.status, 200);
            await response.text();
            lastResponse = Math.max(lastResponse, clock.now());
          }),
        ),
      ),
    );
  }
  await clock.runAll(1_000_000);
  await Promise.all(calls);
  issues.sort((a, b) => a - b);
  await api.close();
  return {
    requests: issues.length,
    endpoints,
    bursts,
    refused: server.refused,
    maxClientInFlight: server.maxClientInFlight,
    maxServerInFlight: server.maxServerInFlight,
    tookMs: lastResponse - t0,
    minimumMs: minimumCompletion(counting, issues, LIMIT, WINDOW, MIN_LATENCY) - t0,
  };
}

const report = process.env.RATE_LIMIT_REPORT === '1';

for (const counting of ['sliding', 'fixed', 'bucket'] as const) {
  for (const [seed, headers] of [
    [101, true],
    [202, false],
    [303, true],
  ] as const) {
    test(`meets a ${counting} server's limit with no 429, at most 5 in flight per endpoint, within 5% of the fastest possible (seed ${seed}, ${headers ? 'with' : 'without'} headers)`, async () => {
      const run = await burst(counting, seed, headers);
      if (report) console.log(counting, seed, headers, run, (run.tookMs / run.minimumMs).toFixed(4));
      assert.is(run.requests, 1000);
      assert.is(run.refused, 0);
      assert.ok(run.maxClientInFlight <= 5, `client in flight ${run.maxClientInFlight}`);
      assert.ok(run.maxServerInFlight <= 5, `server in flight ${run.maxServerInFlight}`);
      assert.ok(run.tookMs <= run.minimumMs * 1.05, `took ${run.tookMs} ms, minimum ${run.minimumMs} ms`);
    });
  }
}

// The bucket rule, told the server's bucket, follows its refill instead of waiting whole windows.
const bucket = { rules: [{ limit: LIMIT, windowMs: WINDOW, burst: LIMIT }] };
for (const countAt of ['arrival', 'answer'] as const) {
  for (const [seed, headers] of [
    [101, true],
    [202, false],
    [303, true],
  ] as const) {
    test(`a bucket rule meets a bucket server counting on ${countAt} with no 429, within 5% of the bucket's fastest (seed ${seed}, ${headers ? 'with' : 'without'} headers)`, async () => {
      const run = await burst('bucket', seed, headers, 1000, bucket, countAt);
      if (report) console.log('bucket rule', countAt, seed, headers, run, (run.tookMs / run.minimumMs).toFixed(4));
      assert.is(run.requests, 1000);
      assert.is(run.refused, 0);
      assert.ok(run.maxServerInFlight <= 5, `server in flight ${run.maxServerInFlight}`);
      assert.ok(run.tookMs <= run.minimumMs * 1.05, `took ${run.tookMs} ms, minimum ${run.minimumMs} ms`);
    });
  }
}

test('a bucket rule stays safe in small bursts, where the gap to a sliding log is widest (200 requests: 29%)', async () => {
  for (const seed of [11, 12, 13]) {
    const run = await burst('bucket', seed, false, 200, bucket);
    if (report) console.log('bucket rule small', seed, run, (run.tookMs / run.minimumMs).toFixed(4));
    assert.is(run.refused, 0);
    assert.ok(run.tookMs <= run.minimumMs * 1.05, `took ${run.tookMs} ms, minimum ${run.minimumMs} ms`);
  }
});

// Another process uses a third of the key's quota, one request every 3 s, and never backs off.
async function shared(counting: Counting): Promise<{ ours: number; refused: number }> {
  const clock = createTestClock();
  const server = createServer({ clock, counting, random: seeded(7), limit: LIMIT, windowMs: WINDOW });
  const api = compose([rateLimit()], { fetch: server.fetch, clock });
  const other = (async () => {
    for (let i = 0; i < 200; i++) {
      await clock.sleep(3000);
      await server.fetch(new Request('https://api.example/v2/other'));
    }
  })();
  const calls = Array.from({ length: 500 }, (_, i) => api(`https://api.example/v2/ep${i % 4}`).then((r) => r.status));
  await clock.runAll(1_000_000);
  const statuses = await Promise.all(calls);
  await other;
  await api.close();
  return { ours: statuses.filter((s) => s === 429).length, refused: server.refused };
}

for (const counting of ['sliding', 'fixed'] as const) {
  test(`keeps in step with a ${counting} server's headers when another process shares the key: under 2% of its requests see a 429`, async () => {
    const run = await shared(counting);
    if (report) console.log(counting, 'shared', run);
    assert.ok(run.ours <= 10, `${run.ours} of 500 refused`);
  });
}

test.run();
