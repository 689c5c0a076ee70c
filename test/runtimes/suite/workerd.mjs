// Tests that only mean something inside workerd: global-scope rules, and one pipeline shared by the
// requests of an isolate, talking to a simulator in another Worker over a service binding (real I/O).
import { ADMIN_KEY, buildPipeline } from './pipeline.mjs';
import { needs, ok } from './util.mjs';

/**
 * Runs while the Worker's module is evaluated, where workerd refuses timers and random values and
 * `Date.now()` reads 0. Whatever is composed here must not touch either until a request comes.
 */
export function atGlobalScope(modules, worker) {
  const global = { dateNow: Date.now(), timerError: undefined, coreError: undefined, pipelineError: undefined, pipelines: {} };
  try {
    clearTimeout(setTimeout(() => {}, 1));
  } catch (error) {
    global.timerError = String(error?.message ?? error);
  }
  try {
    let calls = 0;
    const counter = {
      name: 'counter',
      handle(request, next) {
        calls++;
        return next(request);
      },
    };
    global.core = { fetch: needs(modules, 'core').core.compose([counter], { fetch: async () => ok() }), calls: () => calls };
  } catch (error) {
    global.coreError = String(error?.message ?? error);
  }
  // Pipelines as an application keeps them: composed once, here, and used by every request of the isolate.
  // Their simulators (in the API Worker) are set up by the first request that needs them.
  try {
    const shared = (name, options) => {
      const mock = { fetch: (request) => worker.bindings.API.fetch(request), base: `https://${name}.mock.test` };
      return { ...buildPipeline(modules, { mock, base: mock.base, ...options }), name, base: mock.base };
    };
    global.pipelines = {
      plain: shared('g-plain', {}),
      concurrent: shared('g-concurrent', {}),
      limited: shared('g-limited', { limits: { rules: [{ limit: 2, windowMs: 400 }] } }),
      // Refreshed from half their life: with the default 20%, a 2 s token leaves 300 ms between its refresh (1.6 s) and
      // going stale (1.9 s), too narrow a mark for real time; from 1 s the steps below have 900 ms.
      refresh: shared('g-refresh', { auth: { refreshRatio: 0.5 } }),
      kept: shared('g-kept', { auth: { refreshRatio: 0.5, waitUntil: (promise) => worker.waitUntil(promise) } }),
    };
  } catch (error) {
    global.pipelineError = String(error?.stack ?? error);
  }
  return global;
}

const json = async (response) => {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
};

export function workerdTests({ test, assert, modules, env }) {
  const worker = env.worker;
  const global = worker.global;
  const pipeline = (name) => {
    if (global.pipelineError) throw new Error(`composing the pipelines in global scope failed: ${global.pipelineError}`);
    return global.pipelines[name];
  };
  const self = (path) => worker.bindings.SELF.fetch(`http://self${path}`).then(json);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Each step is a request of its own (reached through the SELF binding), as separate visitors' would be.
  worker.steps = {
    // One call through a shared pipeline; answers its status and the types of the events it caused.
    '/step/call': async (request) => {
      const p = pipeline(new URL(request.url).searchParams.get('p'));
      const from = p.events.length;
      const response = await p.api(`${p.base}/v2/event-details?ids=evt_1`);
      await response.body?.cancel();
      return Response.json({ status: response.status, events: p.events.slice(from).map((e) => e.type) });
    },
  };

  test('workerd: global scope refuses timers and reads Date.now() as 0, as deployed Workers do', async () => {
    assert.equal(global.dateNow, 0);
    assert.ok(global.timerError?.includes('global scope'), `setTimeout at global scope gave: ${global.timerError}`);
    assert.ok(Date.now() > 1e12, 'Date.now() inside a request reads the real time');
  });

  test('workerd: core composed in global scope creates no timer and serves requests', async () => {
    assert.equal(global.coreError, undefined);
    const response = await global.core.fetch('https://api.example/v2/items');
    assert.equal(await response.text(), 'ok');
    assert.ok(global.core.calls() >= 1);
  });

  test('workerd: the full pipeline composes in global scope without timers, random values or a clock read', async () => {
    assert.equal(global.pipelineError, undefined);
    const p = pipeline('plain');
    await worker.remote(p.name, {});
    const response = await p.api(`${p.base}/v2/event-details?ids=evt_1`);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).type, 'events');
  });

  test('workerd: requests of one isolate share the pipeline token across request contexts', async () => {
    const p = pipeline('plain');
    const mock = await worker.remote(p.name, {});
    const before = (await mock.stats()).tokenExchanges;
    const first = await self('/step/call?p=plain');
    const second = await self('/step/call?p=plain');
    assert.deepEqual([first.status, second.status], [200, 200]);
    assert.ok(!second.events.includes('auth:token-requested'), `the second request reused the token: ${second.events}`);
    assert.ok((await mock.stats()).tokenExchanges - before <= 1);
  });

  test('workerd: concurrent requests that all need a token share one exchange', async () => {
    const p = pipeline('concurrent');
    // The exchange takes 200 ms, so the other requests arrive while it is in flight.
    const mock = await worker.remote(p.name, { faults: { tokenLatencyMs: 200 } });
    const results = await Promise.all([1, 2, 3].map(() => self('/step/call?p=concurrent')));
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal((await mock.stats()).tokenExchanges, 1);
  });

  test('workerd: calls from concurrent requests queued by one shared limiter are all released', async () => {
    const p = pipeline('limited');
    const mock = await worker.remote(p.name, { limit: 2, windowMs: 400 });
    const results = await Promise.all([1, 2, 3, 4].map(() => self('/step/call?p=limited')));
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200],
    );
    assert.ok(
      results.some((r) => r.events.includes('rate-limit:queued')),
      'some call waited in the queue',
    );
    assert.equal((await mock.stats()).rateLimited, 0, 'the server never answered 429');
  });

  test('workerd: a refresh started in the background by a request that then ends leaves later requests working', async () => {
    const p = pipeline('refresh');
    // A 2 s token: refreshed ahead after 1 s, stale after 1.9 s. Workers end a request's pending I/O with
    // it, so the background refresh may die unsettled; the request that next needs a token must not hang
    // on it or fail, and no call may go out with an expired token.
    const mock = await worker.remote(p.name, { tokenTtlMs: 2_000 });
    const auth = () => JSON.stringify(p.events.filter((e) => e.type.startsWith('auth:')).map((e) => `${e.type} ${e.reason}`));
    assert.equal((await self('/step/call?p=refresh')).status, 200);
    await sleep(1_100);
    assert.equal((await self('/step/call?p=refresh')).status, 200);
    // Past the stale mark: this request needs a token, from the refresh or on its own.
    await sleep(900);
    const last = await self('/step/call?p=refresh').catch((error) => ({ status: String(error.message) }));
    assert.equal(last.status, 200, `the request after the refresh, auth events ${auth()}`);
    const stats = await mock.stats();
    assert.equal(stats.unauthorized.expired, 0, 'no call went out with an expired token');
    assert.equal(stats.tokenExchanges, p.events.filter((e) => e.type === 'auth:token-requested').length);
    const acquired = p.events.filter((e) => e.type === 'auth:token-acquired').map((e) => e.reason);
    assert.equal(acquired.length, 2, `a second token was acquired, by the refresh or by the request after it: ${auth()}`);
  });

  test('workerd: with waitUntil, a background refresh outlives its request and later requests use its token', async () => {
    const p = pipeline('kept');
    const mock = await worker.remote(p.name, { tokenTtlMs: 2_000 });
    assert.equal((await self('/step/call?p=kept')).status, 200);
    await sleep(1_100);
    assert.equal((await self('/step/call?p=kept')).status, 200);
    await sleep(600);
    const last = await self('/step/call?p=kept');
    assert.equal(last.status, 200);
    assert.ok(!last.events.includes('auth:token-requested'), `the last request found a fresh token: ${last.events}`);
    const reasons = p.events.filter((e) => e.type === 'auth:token-acquired').map((e) => e.reason);
    assert.deepEqual(reasons, ['initial', 'refresh-ahead']);
    assert.equal((await mock.stats()).tokenExchanges, 2);
  });

  test('workerd: a simulator composed in a Worker global scope accepts the demo keys', async () => {
    needs(modules, 'mockServer');
    const response = await worker.bindings.API.fetch('https://global.mock.test/v2/auth/token/access', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: ADMIN_KEY }),
    });
    const body = await response.text();
    assert.equal(response.status, 200, `token exchange against the global-scope simulator: ${body.slice(0, 200)}`);
    assert.ok(JSON.parse(body).expires_in > 0);
  });
}
