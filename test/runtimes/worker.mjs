// The suite as a Cloudflare Worker. run.mjs bundles this file with esbuild (the built packages come in
// through the generated `sluice:modules`) and serves it with workerd, beside mock-worker.mjs as the `API`
// service. Each test runs inside a request: GET /list names the tests, GET /run?name=... runs one and
// answers its result as JSON.
import { waitUntil } from 'cloudflare:workers';
import modules from 'sluice:modules';
import { createRegistry } from './harness.mjs';
import { defineSuite } from './suite/index.mjs';
import { atGlobalScope } from './suite/workerd.mjs';

const json = async (response) => {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
};

const worker = {
  bindings: undefined,
  /** Keeps work alive past the request that started it (the module-level form of ctx.waitUntil). */
  waitUntil,
  steps: undefined,
  /** A simulator in the API Worker, created on first use with `options`: { base, fetch, stats }. */
  async remote(name, options) {
    const base = `https://${name}.mock.test`;
    await json(await worker.bindings.API.fetch(`${base}/__setup`, { method: 'POST', body: JSON.stringify(options ?? {}) }));
    return {
      base,
      fetch: (request) => worker.bindings.API.fetch(request),
      stats: async () => json(await worker.bindings.API.fetch(`${base}/_mock/stats`)),
    };
  },
};
worker.global = atGlobalScope(modules, worker);
const registry = createRegistry();
defineSuite(registry, modules, { runtime: 'workerd', version: 'workerd', worker });

export default {
  async fetch(request, env) {
    worker.bindings = env;
    const url = new URL(request.url);
    if (url.pathname === '/list') return Response.json(registry.list());
    if (url.pathname === '/run') return Response.json(await registry.runOne(url.searchParams.get('name') ?? ''));
    const step = worker.steps?.[url.pathname];
    if (step) return step(request, env);
    return new Response('not found', { status: 404 });
  },
};
