// openapi-fetch over the four interceptors: typed paths, bodies and answers from a schema, sluice underneath.
// Run: node --import tsx examples/openapi-fetch/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function main(log: (line: string) => void = console.log) {
  const served = await serve({ port: 0 });
  // A read-only key: it may read incidents and events, not list API keys (the 403 below).
  const key = demoKeys.find((k) => k.role === 'read-only')!;
  const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: served.url }), rateLimit()]);
  // `ids=a,b`, as the API takes them.
  const client = createClient<paths>({ baseUrl: served.url, fetch: api, querySerializer: { array: { style: 'form', explode: false } } });
  api.events.on('retry:scheduled', (e) => log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
  try {
    // error-map throws on every non-2xx, so `data` is there whenever the call returns.
    const { data: page } = await client.POST('/v2/incidents/list', { body: { page_request: { size: 3 } } });
    const resources = page?.resources ?? [];
    log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

    served.mock.startStorm(500); // the simulator answers 429 to everything for half a second
    const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
    const { data: details } = await client.GET('/v2/event-details', { params: { query: { ids } } });
    log(`event details: ${details?.size} events after the 429 was absorbed`);

    try {
      await client.GET('/v2/admin/api-keys');
    } catch (error) {
      // openapi-fetch lets what fetch threw through unchanged: the typed error from error-map.
      if (!isPermissionError(error)) throw error;
      log(`403 caught: ${error.name} (${error.message})`);
    }
    const stats = served.mock.stats();
    log(
      `done: ${stats.tokenExchanges} token exchange, ${stats.requests} requests, ${stats.rateLimited} answered 429, none reached the caller`,
    );
    return stats;
  } finally {
    await api.close();
    await served.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
