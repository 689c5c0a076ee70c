// The four interceptors composed over the runtime's own fetch, against the simulator on loopback.
// Run: node --import tsx examples/native-fetch/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';

export async function main(log: (line: string) => void = console.log) {
  const served = await serve({ port: 0 });
  // A read-only key: it may read incidents and events, not list API keys (the 403 below).
  const key = demoKeys.find((k) => k.role === 'read-only')!;
  const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: served.url }), rateLimit()]);
  api.events.on('retry:scheduled', (e) => log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
  try {
    const list = await api(`${served.url}/v2/incidents/list`, { method: 'POST', body: JSON.stringify({ page_request: { size: 3 } }) });
    const { resources } = (await list.json()) as { resources: { id: string; event_ids: string[] }[] };
    log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

    served.mock.startStorm(500); // the simulator answers 429 to everything for half a second
    const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
    const details = (await (await api(`${served.url}/v2/event-details?ids=${ids.join(',')}`)).json()) as { size: number };
    log(`event details: ${details.size} events after the 429 was absorbed`);

    try {
      await api(`${served.url}/v2/admin/api-keys`);
    } catch (error) {
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
