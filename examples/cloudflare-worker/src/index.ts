// A Worker that serves its routes through sluice: GET /incidents lists incidents with their events, GET /api-keys
// asks for something the key's role may not see. Deploy: npx wrangler deploy (see wrangler.toml).

import { waitUntil } from 'cloudflare:workers';
import { authToken } from '@sluice/auth-token';
import { compose, type SluiceFetch } from '@sluice/core';
import { errorMap, isHttpError, isPermissionError } from '@sluice/error-map';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';

export interface Env {
  /** The API's base URL, e.g. https://acme.cyberhaven.io (a var in wrangler.toml). */
  API_BASE_URL: string;
  /** The API key (a secret: `npx wrangler secret put API_KEY`). Never logged or returned. */
  API_KEY: string;
}

// One pipeline per isolate, built by the first request: Workers refuse timers in global scope and the bindings
// arrive with the request. Later requests share it, so they reuse its token and count against one rate limit.
let pipeline: SluiceFetch | undefined;

function api(env: Env): SluiceFetch {
  pipeline ??= compose([
    errorMap(),
    retry429(),
    // waitUntil keeps a background token refresh alive after the request that started it has been answered. It is the
    // module-level one from cloudflare:workers, not ctx.waitUntil: the pipeline outlives the request whose ctx it would hold.
    authToken({ apiKey: () => env.API_KEY, baseUrl: env.API_BASE_URL, waitUntil }),
    rateLimit(),
  ]);
  return pipeline;
}

type Page = { resources: { id: string; event_ids: string[] }[] };

async function incidents(env: Env): Promise<Response> {
  const list = await api(env)(`${env.API_BASE_URL}/v2/incidents/list`, {
    method: 'POST',
    body: JSON.stringify({ page_request: { size: 3 } }),
  });
  const { resources } = (await list.json()) as Page;
  const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
  const details = (await (await api(env)(`${env.API_BASE_URL}/v2/event-details?ids=${ids.join(',')}`)).json()) as { size: number };
  return Response.json({ incidents: resources.map((i) => i.id), events: details.size });
}

async function apiKeys(env: Env): Promise<Response> {
  try {
    return Response.json(await (await api(env)(`${env.API_BASE_URL}/v2/admin/api-keys`)).json());
  } catch (error) {
    if (!isPermissionError(error)) throw error;
    return Response.json({ error: error.name, message: error.message }, { status: 403 });
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === '/incidents') return await incidents(env);
      if (pathname === '/api-keys') return await apiKeys(env);
      return new Response('not found', { status: 404 });
    } catch (error) {
      // sluice's errors carry a safe message (status, method, URL without query) and a stable code.
      if (isHttpError(error)) return Response.json({ error: error.name, message: error.message }, { status: 502 });
      throw error;
    }
  },
};
