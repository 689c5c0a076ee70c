// ofetch over the four interceptors: ofetch parses and builds URLs, sluice authenticates, paces and retries.
// Run: node --import tsx examples/ofetch/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import { ofetch } from 'ofetch';

export async function main(log: (line: string) => void = console.log) {
  const served = await serve({ port: 0 });
  // A read-only key: it may read incidents and events, not list API keys (the 403 below).
  const key = demoKeys.find((k) => k.role === 'read-only')!;
  const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: served.url }), rateLimit()]);
  // retry: 0, because retry-429 already retries 429s as the server asks; ofetch would retry the typed errors again.
  const client = ofetch.create({ baseURL: served.url, retry: 0 }, { fetch: api });
  api.events.on('retry:scheduled', (e) => log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
  try {
    type Page = { resources: { id: string; event_ids: string[] }[] };
    const { resources } = await client<Page>('/v2/incidents/list', { method: 'POST', body: { page_request: { size: 3 } } });
    log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

    served.mock.startStorm(500); // the simulator answers 429 to everything for half a second
    const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
    const details = await client<{ size: number }>('/v2/event-details', { query: { ids: ids.join(',') } });
    log(`event details: ${details.size} events after the 429 was absorbed`);

    try {
      await client('/v2/admin/api-keys');
    } catch (error) {
      // ofetch wraps what fetch threw in its FetchError: the typed error is its cause.
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
