// The pipeline on real time: real timers, real Date.now(), a simulator on the real clock. Short on purpose
// (about a second each). In workerd they run once more on a clock that, like Date.now() in deployed Workers,
// only moves when I/O completes, with the simulator in another Worker reached over a service binding.
import { buildPipeline } from './pipeline.mjs';
import { needs } from './util.mjs';

/**
 * A clock that reads the real time only when I/O completes: a timer firing or a response arriving, as
 * Date.now() behaves in deployed Workers (local workerd lets it run during computation).
 */
export function ioClock(core) {
  let now = Date.now();
  const seen = () => {
    now = Date.now();
  };
  return {
    now: () => now,
    async sleep(ms, signal) {
      try {
        await core.systemClock.sleep(ms, signal);
      } finally {
        seen();
      }
    },
    /** Wraps a transport so that each answer moves the clock. */
    io: (send) => async (request) => {
      try {
        return await send(request);
      } finally {
        seen();
      }
    },
  };
}

/** A simulator on the real clock: in this runtime, or (in workerd) in the `API` Worker. */
export async function simulator(modules, env, name, options) {
  if (env.worker) return env.worker.remote(name, options);
  const server = needs(modules, 'mockServer').mockServer.createMockServer(options);
  return { base: 'https://acme.cyberhaven.io', fetch: server.fetch, stats: async () => server.stats() };
}

const details = (base) => `${base}/v2/event-details?ids=evt_1`;

export function realtimeTests({ test, assert, modules, env }) {
  const variants = [{ label: 'real clock', clock: () => needs(modules, 'core').core.systemClock, wrap: (send) => send }];
  if (env.worker) {
    let clock;
    variants.push({
      label: 'workerd, Date.now() moving only at I/O',
      clock: () => (clock = ioClock(needs(modules, 'core').core)),
      wrap: (send) => clock.io(send),
    });
  }

  for (const variant of variants) {
    test(`${variant.label}: the limiter holds queued calls until the window frees, then releases them, with no 429`, async () => {
      const clock = variant.clock();
      // 3 requests per 500 ms on both sides; the token exchange counts too, so calls 3 and 4 wait a window.
      const mock = await simulator(modules, env, `limit${variants.indexOf(variant)}`, { limit: 3, windowMs: 500 });
      const { api, ofType } = buildPipeline(modules, {
        clock,
        mock,
        base: mock.base,
        transport: variant.wrap,
        limits: { rules: [{ limit: 3, windowMs: 500 }] },
      });
      const started = Date.now();
      const done = [];
      await Promise.all([1, 2, 3, 4].map((n) => api(details(mock.base)).then((r) => done.push([n, r.status, Date.now() - started]))));
      const stats = await mock.stats();
      assert.ok(
        done.every(([, status]) => status === 200),
        JSON.stringify(done),
      );
      assert.equal(stats.rateLimited, 0, 'the server never answered 429');
      assert.equal(ofType('rate-limit:queued').length, 2, 'two calls waited');
      assert.ok(Math.max(...done.map(([, , ms]) => ms)) >= 450, `the last call waited for the window: ${JSON.stringify(done)}`);
      assert.ok(Math.max(...done.map(([, , ms]) => ms)) < 3_000, `and was released soon after: ${JSON.stringify(done)}`);
      await api.close();
    });

    test(`${variant.label}: a token past its lifetime is exchanged again before it is sent`, async () => {
      const clock = variant.clock();
      // A 1 s token: stale after 950 ms (skew is at most 5% of the lifetime), past its lifetime after the 1 s sleep.
      const mock = await simulator(modules, env, `ttl${variants.indexOf(variant)}`, { tokenTtlMs: 1_000 });
      const { api, ofType } = buildPipeline(modules, { clock, mock, base: mock.base, transport: variant.wrap });
      assert.equal((await api(details(mock.base))).status, 200);
      await clock.sleep(1_000);
      assert.equal((await api(details(mock.base))).status, 200);
      const stats = await mock.stats();
      assert.equal(stats.tokenExchanges, 2);
      assert.equal(stats.unauthorized.expired, 0, 'no call went out with an expired token');
      assert.deepEqual(
        ofType('auth:token-acquired').map((e) => e.reason),
        ['initial', 'expired'],
      );
      await api.close();
    });
  }
}
