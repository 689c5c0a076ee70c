// The fault matrix: one scenario per fault, each against its own simulator on 127.0.0.1 and its own client.
import { createServer } from 'node:net';
import { type Env, path, type Scenario, seeded } from './harness.js';

const N = 10;
const OK = 'Response 200';
const ABORT = 'abort reason';

/** A loopback port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const burst = (env: Env, n = N, init?: RequestInit) => {
  for (let i = 1; i <= n; i++) env.call(path(i), init);
};

/** Resolves once `type` has been emitted `times` times. */
const seen = (env: Env, type: 'auth:token-requested' | 'rate-limit:queued' | 'retry:scheduled', times = 1) =>
  new Promise<void>((resolve) => {
    let n = 0;
    const off = env.client.events.on(type, () => {
      if (++n < times) return;
      off();
      resolve();
    });
  });

const port = await deadPort();

export const scenarios: Scenario[] = [
  {
    id: 'token-refused',
    fault: 'token endpoint down (connection refused)',
    // The token endpoint lives on a port nothing listens on; the API's own origin still gets the token.
    client: (base) => ({ auth: { tokenUrl: `http://127.0.0.1:${port}/v2/auth/token/access`, origins: [base] } }),
    expected: ['TokenExchangeError ERR_SLUICE_TOKEN_EXCHANGE'],
    run: async (env) => burst(env),
  },
  {
    id: 'token-slow',
    fault: 'token endpoint slower than `timeoutMs` (10 min answer, 10 s timeout)',
    serve: { faults: { tokenLatencyMs: 600_000 } },
    client: { errors: { timeoutMs: 10_000 } },
    expected: ['TimeoutError ERR_SLUICE_TIMEOUT'],
    run: async (env) => burst(env),
  },
  {
    id: 'token-500',
    fault: 'token endpoint answers 5xx',
    serve: { faults: { serverErrorRate: 1 } },
    expected: ['TokenExchangeError ERR_SLUICE_TOKEN_EXCHANGE'],
    run: async (env) => burst(env),
  },
  {
    id: 'token-429',
    fault: 'token endpoint answers 429 for 20 s (Retry-After)',
    expected: [OK],
    async run(env) {
      env.served.mock.startStorm(20_000);
      burst(env);
    },
  },
  {
    id: 'token-malformed',
    fault: 'token endpoint answers 200 with a malformed body',
    serve: { faults: { malformedTokenRate: 1 } },
    expected: ['TokenResponseError ERR_SLUICE_TOKEN_RESPONSE'],
    run: async (env) => burst(env),
  },
  {
    id: 'token-401',
    fault: 'token endpoint answers 401 (unknown key)',
    client: { apiKey: 'mock_unknown_key_0123456789' },
    expected: ['InvalidApiKeyError ERR_SLUICE_INVALID_API_KEY'],
    run: async (env) => burst(env),
  },
  {
    id: 'reset-before-headers',
    fault: 'API resets the connection before answering (GET retried, POST not)',
    expected: ['NetworkError ERR_SLUICE_NETWORK'],
    async run(env) {
      await env.warm();
      env.served.mock.setFaults({ resetRate: 1 });
      burst(env, N / 2);
      for (let i = 0; i < N / 2; i++) env.call('/v2/incidents/list', { method: 'POST', body: '{}' });
    },
  },
  {
    id: 'reset-mid-body',
    fault: 'API resets the connection mid-body (socket destroyed after half the body)',
    expected: [OK],
    expectedBodies: ['TypeError: terminated'],
    async run(env) {
      await env.warm();
      env.served.mock.setFaults({ truncateRate: 1 });
      for (let i = 1; i <= N; i++) env.call(path(i)).then(env.read, () => {});
    },
  },
  {
    id: '5xx-burst',
    fault: 'API answers 500/502/503 to everything for 5 s',
    expected: [OK, 'ServerError ERR_SLUICE_SERVER'],
    async run(env) {
      await env.warm();
      env.served.mock.setFaults({ serverErrorRate: 1 });
      void env.clock.sleep(5_000).then(() => env.served.mock.setFaults({ serverErrorRate: 0 }));
      burst(env, 20);
    },
  },
  {
    id: '429-storm',
    fault: 'API answers 429 to everything for 20 s (Retry-After)',
    expected: [OK],
    async run(env) {
      await env.warm();
      env.served.mock.startStorm(20_000);
      burst(env, 20);
    },
  },
  {
    id: 'token-revoked',
    fault: 'every issued token revoked (401 on a valid-looking token)',
    expected: [OK],
    async run(env) {
      await env.warm();
      env.served.mock.revokeAllTokens();
      burst(env);
    },
  },
  {
    id: 'key-revoked',
    fault: 'the API key deleted while its token is in use',
    expected: ['InvalidApiKeyError ERR_SLUICE_INVALID_API_KEY'],
    async run(env) {
      await env.warm();
      env.served.mock.removeKey('demo-admin');
      burst(env);
    },
  },
  {
    id: 'abort-before-send',
    fault: 'abort before the call',
    expected: [ABORT],
    async run(env) {
      for (let i = 1; i <= N; i++) {
        const abort = new AbortController();
        abort.abort();
        env.call(path(i), { abort });
      }
    },
  },
  {
    id: 'abort-queued',
    fault: 'abort while queued in rate-limit (3 per minute)',
    client: { rateLimit: { rules: [{ limit: 3, windowMs: 60_000 }] } },
    expected: [OK, ABORT],
    async run(env) {
      await env.warm(); // the exchange and this call: 2 of 3
      const queued = seen(env, 'rate-limit:queued', N - 1);
      const controllers = Array.from({ length: N }, () => new AbortController());
      for (const [i, abort] of controllers.entries()) env.call(path(i + 1), { abort });
      await queued;
      for (const abort of controllers.slice(1)) abort.abort();
    },
  },
  {
    id: 'abort-exchange',
    fault: 'abort during the token exchange (5 s exchange)',
    serve: { faults: { tokenLatencyMs: 5_000 } },
    expected: [ABORT],
    async run(env) {
      const requested = seen(env, 'auth:token-requested');
      const controllers = Array.from({ length: N }, () => new AbortController());
      for (const [i, abort] of controllers.entries()) env.call(path(i + 1), { abort });
      await requested;
      for (const abort of controllers) abort.abort();
    },
  },
  {
    id: 'abort-retry-wait',
    fault: 'abort during retry-429’s wait (60 s storm)',
    expected: [ABORT],
    async run(env) {
      await env.warm();
      env.served.mock.startStorm(60_000);
      const scheduled = seen(env, 'retry:scheduled', 3);
      const controllers = Array.from({ length: 3 }, () => new AbortController());
      for (const [i, abort] of controllers.entries()) env.call(path(i + 1), { abort });
      await scheduled;
      for (const abort of controllers) abort.abort();
    },
  },
  {
    id: 'abort-body',
    fault: 'abort while reading the body (1,000 incidents)',
    expected: [OK],
    expectedBodies: [ABORT, 'read to the end'],
    async run(env) {
      await env.warm();
      for (let i = 0; i < 3; i++) {
        const abort = new AbortController();
        const body = JSON.stringify({ page_request: { size: 1000 } });
        const response = await env.call('/v2/incidents/list', { method: 'POST', body, abort });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        await reader.read();
        abort.abort();
        await env.read(reader);
      }
    },
  },
  {
    id: 'abort-random',
    fault: 'aborts at random times under latency, 5xx and a 429 storm',
    serve: { latencyMs: { min: 5, max: 400 }, faults: { serverErrorRate: 0.2, storm: { everyMs: 10_000, durationMs: 2_000 } } },
    expected: [OK, ABORT, 'ServerError ERR_SLUICE_SERVER'],
    async run(env) {
      const random = seeded(3);
      for (let i = 1; i <= 30; i++) {
        const abort = new AbortController();
        env.call(path(i), { abort });
        void env.clock.sleep(Math.floor(random() * 3_000)).then(() => abort.abort());
      }
    },
  },
  ...(process.env.SLUICE_FAULTS_PLANT_LEAK
    ? [
        {
          id: 'planted-leak',
          fault: 'a timer left running (self-test of the handle check)',
          expected: [OK],
          async run(env: Env) {
            setInterval(() => {}, 60_000);
            burst(env, 1);
          },
        },
      ]
    : []),
  {
    id: 'listener-throws',
    fault: 'a bus listener throws on every event',
    expected: [OK],
    async run(env) {
      env.client.events.on('*', () => {
        throw new Error('listener failed');
      });
      burst(env);
    },
  },
  {
    id: 'close-during-traffic',
    fault: 'close() with calls in flight and queued (200 ms latency)',
    serve: { latencyMs: 200 },
    expected: [OK, 'ClosedError ERR_SLUICE_CLOSED'],
    async run(env) {
      await env.warm();
      const queued = seen(env, 'rate-limit:queued');
      burst(env, 20);
      await queued;
      await env.client.close();
      env.call(path(99));
    },
  },
];
