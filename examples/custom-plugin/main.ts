import { compose } from '@sluice/core';
import { requestTimer } from './request-timer.js';

// A transport that answers in-process, so the example runs offline.
const transport = async (request: Request) => new Response(JSON.stringify({ path: new URL(request.url).pathname }), { status: 200 });

const api = compose([requestTimer()], { fetch: transport });
api.events.on('timer:request-done', (e) => console.log(`${e.method} ${e.url} -> ${e.status} in ${e.durationMs} ms`));

const response = await api('https://api.example/v2/event-details?ids=a,b');
console.log(await response.json());
await api.close();
