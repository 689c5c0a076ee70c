// axios's fetch adapter over the four interceptors: axios keeps its API, sluice authenticates, paces and retries.
// Run: node --import tsx examples/axios/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import axios from 'axios';

export async function main(log: (line: string) => void = console.log) {
  const served = await serve({ port: 0 });
  // A read-only key: it may read incidents and events, not list API keys (the 403 below).
  const key = demoKeys.find((k) => k.role === 'read-only')!;
  const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: served.url }), rateLimit()]);
  // axios's fetch adapter calls env.fetch instead of the global one.
  const client = axios.create({ baseURL: served.url, adapter: 'fetch', env: { fetch: api } });
  api.events.on('retry:scheduled', (e) => log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
  try {
    type Page = { resources: { id: string; event_ids: string[] }[] };
    const { resources } = (await client.post<Page>('/v2/incidents/list', { page_request: { size: 3 } })).data;
    log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

    served.mock.startStorm(500); // the simulator answers 429 to everything for half a second
    const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
    const details = (await client.get<{ size: number }>('/v2/event-details', { params: { ids: ids.join(',') } })).data;
    log(`event details: ${details.size} events after the 429 was absorbed`);

    try {
      await client.get('/v2/admin/api-keys');
    } catch (error) {
      // axios wraps what fetch threw in an AxiosError (copying its code and status): the typed error is its cause.
      const cause = (error as Error).cause;
      if (!isPermissionError(cause)) throw error;
      log(`403 caught: ${cause.name} (${cause.message})`);
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
