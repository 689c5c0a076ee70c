import { type ServedMock, type ServeOptions, serve as serveReal } from '../../../packages/mock-server/src/node.js';
import { watchKeys, watchServer } from './mock-server.js';

export * from '../../../packages/mock-server/src/node.js';

export async function serve(options?: ServeOptions): Promise<ServedMock> {
  watchKeys(options);
  const served = await serveReal(options);
  if (!options?.server) watchServer(served.mock);
  return served;
}
