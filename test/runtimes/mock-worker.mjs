// The simulator as a Worker of its own, the `API` service the suite's Worker calls over a service binding,
// so the pipeline's requests are real I/O between Workers. Each simulator is named by the first label of
// the host (`https://<name>.mock.test/...`); POST /__setup creates one with the options in the body.
import modules from 'sluice:modules';

const servers = new Map();
let globalError;
// One simulator composed in global scope, as a Worker serving a fake API would (Date.now() reads 0 here).
try {
  if (!modules.mockServer.__missing) servers.set('global', modules.mockServer.createMockServer());
} catch (error) {
  globalError = String(error?.message ?? error);
}

export default {
  async fetch(request) {
    if (modules.mockServer.__missing) return new Response(`simulator not built: ${modules.mockServer.__missing}`, { status: 599 });
    const url = new URL(request.url);
    const name = url.hostname.split('.')[0];
    if (url.pathname === '/__setup') {
      if (!servers.has(name)) servers.set(name, modules.mockServer.createMockServer(await request.json()));
      return Response.json({ name });
    }
    const server = servers.get(name);
    if (!server) return new Response(`no simulator named ${name}${name === 'global' ? `: ${globalError}` : ''}`, { status: 599 });
    return server.handler(request);
  },
};
