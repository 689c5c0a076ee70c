// The four interceptors over Bun's fetch, against the simulator served by Bun.serve on loopback.
// Run (after a build): bun examples/bun/main.ts
import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { errorMap, isPermissionError } from '@sluice/error-map';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';

// The little of Bun's API used here, so the repository's type check (Node types) reads this file too.
declare const Bun: {
  version: string;
  serve(options: { hostname: string; port: number; fetch: (request: Request) => Promise<Response> }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
};

const server = createMockServer();
const http = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: server.handler });
const base = `http://127.0.0.1:${http.port}`;

// A read-only key: it may read incidents and events, not list API keys (the 403 below).
const key = demoKeys.find((k) => k.role === 'read-only')!;
const api = compose([errorMap(), retry429(), authToken({ apiKey: key.key, baseUrl: base }), rateLimit()]);
api.events.on('retry:scheduled', (e) => console.log(`429 on ${e.method} ${new URL(e.url).pathname}: retry in ${e.delayMs} ms`));
try {
  console.log(`Bun ${Bun.version}, simulator on ${base}`);
  const list = await api(`${base}/v2/incidents/list`, { method: 'POST', body: JSON.stringify({ page_request: { size: 3 } }) });
  const { resources } = (await list.json()) as { resources: { id: string; event_ids: string[] }[] };
  console.log(`listed ${resources.length} incidents: ${resources.map((i) => i.id).join(', ')}`);

  server.startStorm(500); // the simulator answers 429 to everything for half a second
  const ids = resources.flatMap((i) => i.event_ids).slice(0, 3);
  const details = (await (await api(`${base}/v2/event-details?ids=${ids.join(',')}`)).json()) as { size: number };
  console.log(`event details: ${details.size} events after the 429 was absorbed`);

  try {
    await api(`${base}/v2/admin/api-keys`);
  } catch (error) {
    if (!isPermissionError(error)) throw error;
    console.log(`403 caught: ${error.name} (${error.message})`);
  }
  const { tokenExchanges, requests, rateLimited } = server.stats();
  console.log(`done: ${tokenExchanges} token exchange, ${requests} requests, ${rateLimited} answered 429, none reached the caller`);
} finally {
  await api.close();
  await http.stop(true);
  await server.close();
}
