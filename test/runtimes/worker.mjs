// The suite as a Cloudflare Worker. run.mjs bundles this file with esbuild (the built packages come in
// through the generated `sluice:modules`) and serves it with workerd. Each test runs inside a request:
// GET /list names the tests, GET /run?name=... runs one and answers its result as JSON.
import modules from 'sluice:modules';
import { createRegistry } from './harness.mjs';
import { defineSuite } from './suite/index.mjs';
import { atGlobalScope } from './suite/workerd.mjs';

const worker = { global: atGlobalScope(modules), bindings: undefined };
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
