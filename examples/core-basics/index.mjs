// The smallest pipeline: two interceptors around an in-process transport. Run: node examples/core-basics/index.mjs
import { compose } from '@sluice/core';
import { describeUrl } from '@sluice/core/http';

const stamp = {
  name: 'stamp',
  handle: (request, next) => next(new Request(request, { headers: { ...Object.fromEntries(request.headers), 'x-client': 'sluice' } })),
};
const log = {
  name: 'log',
  async handle(request, next, ctx) {
    const response = await next(request);
    console.log(`attempt ${ctx.attempt}: ${request.method} ${describeUrl(request.url)} -> ${response.status}`);
    return response;
  },
};
const transport = async (request) => Response.json({ client: request.headers.get('x-client') });

const api = compose([log, stamp], { fetch: transport });
console.log(await (await api('https://api.example/v2/incidents/list?secret=not-logged', { method: 'POST', body: '{}' })).json());
await api.close();
