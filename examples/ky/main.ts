// ky over the four interceptors: ky builds requests and parses JSON, sluice authenticates, paces and retries.
// Run: node --import tsx examples/ky/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';
import ky from 'ky';

export async function main(log: (line: string) => void = console.log) {
  const served = await serve({ port: 0 });
  // A read-only key: it may read incidents and events, not list API keys (the 403 below).
  const key = demoKeys.find((k) => k.role === 'read-only')!;
  const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: served.url }), rateLimit()]);
  // retry: 0 leaves 429s to retry-429 (ky would retry the typed errors a second time); timeout: false lets
  // rate-limit queue a call for as long as the window needs (use timeout({ ms }) from @sluice/error-map/timeout, right after errorMap(), for a deadline).
  const client = ky.create({ prefixUrl: served.url, fetch: api, retry: 0, timeout: false });
  api.events.on('retry:scheduled', (e) => log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
  try {
    type Page = { resources: { id: string; event_ids: string[] }[] };
    const { resources } = await client.post('v2/incidents/list', { json: { page_request: { size: 3 } } }).json<Page>();
    log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

    served.mock.startStorm(500); // the simulator answers 429 to everything for half a second
    const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
    const details = await client.get('v2/event-details', { searchParams: { ids: ids.join(',') } }).json<{ size: number }>();
    log(`event details: ${details.size} events after the 429 was absorbed`);

    try {
      await client.get('v2/admin/api-keys');
    } catch (error) {
      // ky lets what fetch threw through unchanged: the typed error from error-map.
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
