// The contenders, each set up for the same job per request: a bearer token from a cache, 429s retried,
// a non-2xx answer thrown as an error, the body read as text. `send({ url, method, body })` resolves with the text.
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  RestError,
  throttlingRetryPolicy,
} from '@azure/core-rest-pipeline';
import axios from 'axios';
import axiosRetry, { exponentialDelay, isNetworkError } from 'axios-retry';
import ky from 'ky';
import { ofetch } from 'ofetch';
import { createNaiveRefresher, createRefresher, tokenExchange } from './refresher.mjs';

export const CONTENDERS = ['raw fetch', 'ky', 'ofetch', 'axios', 'azure', 'sluice'];
export const PEERS = ['ky', 'ofetch', 'axios', 'azure'];
export const API_KEY = 'mock_admin_key_0123456789';
export const TOKEN_PATH = '/v2/auth/token/access';
/** sluice's rate limiter in the pipeline but unable to bind: no rule that counts, no cap on requests in flight. */
export const NON_BINDING_LIMIT = { rules: [{ limit: Infinity, windowMs: 60_000 }], concurrency: Infinity };

/** What `fetch(input, init)` does before the network: a Request built from the arguments. */
export const fetchOver = (transport) => (input, init) =>
  transport(input instanceof Request && init === undefined ? input : new Request(input, init));

/**
 * An in-process server behind `fetch`, reached the way the network reaches it: the request body is always sent
 * (read to the end) before the server sees it, as a socket would, even when the server then refuses it unread.
 */
export const overWire = (handler) => async (input, init) => {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (request.body === null) return handler(request);
  const body = await request.arrayBuffer();
  return handler(new Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal }));
};

const jsonBody = (body) => (body === undefined ? undefined : JSON.stringify(body));
const jsonHeaders = (body) => (body === undefined ? {} : { 'content-type': 'application/json' });

function retryAfterMs(response) {
  const value = response?.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(value) - Date.now());
}

/**
 * Builds one contender.
 * - `fetch`: fetch-shaped transport (`fetchOver(transport)` in-process, `globalThis.fetch` over HTTP); `null` for
 *   a client's own default (axios: its http adapter, Azure: its Node http client).
 * - `base`: origin of the API; `retries`: 429 retries of the peers; `headers`: extra headers on every request
 *   (the gateway's client key); `sluice`: { clock, rateLimit options, packages }; `refresher`: 'shared' | 'naive'.
 */
export function createContender(name, world) {
  const { base, retries = 10, headers = {}, sluice: s } = world;
  const fetch = world.fetch ?? globalThis.fetch;
  const tokenUrl = new URL(TOKEN_PATH, base).href;
  const exchange = tokenExchange(world.fetch ?? globalThis.fetch, tokenUrl, API_KEY, headers);
  const refresher = (world.refresher === 'naive' ? createNaiveRefresher : createRefresher)({ exchange });
  const bearer = async () => `Bearer ${await refresher.get()}`;

  switch (name) {
    case 'raw fetch':
      // The floor: the hand-written minimum, one attempt, no retry.
      return {
        async send({ url, method = 'GET', body }) {
          const response = await fetch(url, {
            method,
            body: jsonBody(body),
            headers: { ...headers, ...jsonHeaders(body), authorization: await bearer() },
          });
          if (!response.ok) throw new Error(`HTTP ${response.status}: ${method} ${url}`);
          return response.text();
        },
      };
    case 'ky': {
      const api = ky.create({
        fetch,
        headers,
        timeout: false,
        retry: { limit: retries, methods: ['get', 'post'], statusCodes: [429], afterStatusCodes: [429], backoffLimit: 10_000 },
        hooks: {
          beforeRequest: [
            async (request) => {
              request.headers.set('authorization', await bearer());
            },
          ],
        },
      });
      return { send: ({ url, method = 'GET', body }) => api(url, { method, json: body }).text() };
    }
    case 'ofetch': {
      const api = ofetch.create(
        {
          headers,
          retry: retries,
          retryStatusCodes: [429],
          // ofetch has no Retry-After support of its own: what a careful user passes.
          retryDelay: (context) => retryAfterMs(context.response) ?? 1000,
          responseType: 'text',
          async onRequest({ options }) {
            options.headers.set('authorization', await bearer());
          },
        },
        world.fetch ? { fetch } : {},
      );
      return { send: ({ url, method = 'GET', body }) => api(url, { method, body }) };
    }
    case 'axios': {
      const api = world.fetch
        ? axios.create({ adapter: 'fetch', env: { fetch, Request, Response }, responseType: 'text', headers })
        : axios.create({ responseType: 'text', headers });
      api.interceptors.request.use(async (config) => {
        config.headers.set('Authorization', await bearer());
        return config;
      });
      axiosRetry(api, {
        retries,
        retryCondition: (error) => error.response?.status === 429 || isNetworkError(error),
        retryDelay: exponentialDelay, // the larger of its backoff and Retry-After
      });
      return { send: async ({ url, method = 'GET', body }) => (await api.request({ url, method, data: body })).data };
    }
    case 'azure':
      return createAzure(world, exchange);
    case 'sluice':
      return createSluice(world, s);
    default:
      throw new Error(`unknown contender ${name}`);
  }
}

// @azure/core-rest-pipeline: an empty pipeline with its throttling retry and bearer token policies (the token cache is
// its own tokenCycler). In-process, a small HttpClient over the transport; over HTTP, its default Node client.
function createAzure(world, exchange) {
  const { retries = 10, headers = {} } = world;
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(throttlingRetryPolicy({ maxRetries: retries }));
  const credential = {
    async getToken() {
      const { token, expiresIn } = await exchange();
      return { token, expiresOnTimestamp: Date.now() + expiresIn * 1000 };
    },
  };
  const insecure = new URL(world.base).protocol === 'http:';
  // The bearer policy refuses http: URLs. Over loopback HTTP, the URL reads https: while the policy looks, then http: again.
  const scheme = (name, from, to) => ({
    name,
    sendRequest(request, next) {
      request.url = request.url.replace(from, to);
      return next(request);
    },
  });
  if (insecure) pipeline.addPolicy(scheme('bench-https', /^http:/, 'https:'));
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: 'api' }));
  if (insecure) pipeline.addPolicy(scheme('bench-http', /^https:/, 'http:'));
  const client = world.fetch
    ? {
        async sendRequest(request) {
          const response = await world.fetch(request.url, {
            method: request.method,
            headers: request.headers.toJSON(),
            body: request.body,
            signal: request.abortSignal,
          });
          return {
            request,
            status: response.status,
            headers: createHttpHeaders(Object.fromEntries(response.headers)),
            bodyAsText: await response.text(),
          };
        },
      }
    : createDefaultHttpClient();
  return {
    async send({ url, method = 'GET', body }) {
      const request = createPipelineRequest({
        url,
        method,
        body: jsonBody(body),
        headers: createHttpHeaders({ ...headers, ...jsonHeaders(body) }),
        allowInsecureConnection: insecure,
      });
      const response = await pipeline.sendRequest(client, request);
      if (response.status >= 300)
        throw new RestError(`HTTP ${response.status}: ${method} ${url}`, { statusCode: response.status, request, response });
      return response.bodyAsText;
    },
  };
}

// The sluice pipeline of all four interceptors, in the preset's order.
function createSluice(world, s) {
  const { core, errorMap, retry429, authToken, rateLimit } = s.packages;
  const extra = world.headers && Object.keys(world.headers).length ? world.headers : undefined;
  const api = core.compose(
    [
      errorMap.errorMap(),
      retry429.retry429(s.retry),
      authToken.authToken({ apiKey: API_KEY, baseUrl: world.base, ...(extra && { tokenRequest: tokenRequestWith(extra) }) }),
      rateLimit.rateLimit(s.rateLimit),
    ],
    { fetch: world.fetch ?? undefined, clock: s.clock },
  );
  return {
    api,
    async send({ url, method = 'GET', body }) {
      const response = await api(url, {
        method,
        body: jsonBody(body),
        headers: extra || body ? { ...extra, ...jsonHeaders(body) } : undefined,
      });
      return response.text();
    },
    close: () => api.close(),
  };
}

const tokenRequestWith = (headers) => (apiKey) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ api_key: apiKey }),
});

/** Checks that every contender does the job: bearer token sent, 500 thrown, 429 retried. Throws on the first miss. */
export async function checkJob(name, makeWorld) {
  const token = 'tok_check_0123456789';
  let seen = [];
  let script = [];
  const transport = (request) => {
    if (request.method === 'POST' && new URL(request.url).pathname === TOKEN_PATH) {
      return new Response(JSON.stringify({ access_token: token, expires_in: 3600 }), { headers: { 'content-type': 'application/json' } });
    }
    seen.push(request.headers.get('authorization'));
    const status = script.shift() ?? 200;
    return new Response(status === 200 ? '{"ok":true}' : '{"error":{}}', {
      status,
      headers: { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) },
    });
  };
  const contender = createContender(name, makeWorld(fetchOver(transport)));
  const url = `${makeWorld(null).base}/v2/items`;
  const problems = [];
  if ((await contender.send({ url })) !== '{"ok":true}') problems.push('body not returned');
  if (seen[0] !== `Bearer ${token}`) problems.push(`no bearer token (saw ${seen[0]})`);
  script = [500];
  seen = [];
  const threw = await contender.send({ url }).then(
    () => false,
    () => true,
  );
  if (!threw) problems.push('500 not thrown');
  if (name !== 'raw fetch') {
    script = [429];
    seen = [];
    const text = await contender.send({ url }).catch((e) => `threw ${e.message}`);
    if (text !== '{"ok":true}' || seen.length !== 2) problems.push(`429 not retried (${seen.length} attempts, ${text})`);
  }
  await contender.close?.();
  if (problems.length) throw new Error(`${name} does not do the job: ${problems.join('; ')}`);
}
