import {
  createMockServer as createMockServerReal,
  demoKeys,
  type KeySpec,
  type MockServer,
  type MockServerOptions,
} from '../../../packages/mock-server/src/index.js';
import { audit } from './audit.js';

export * from '../../../packages/mock-server/src/index.js';

for (const spec of demoKeys) audit.secret(spec.key, 'mock-server demoKeys');

/** Remembers every key the simulator is given; its tokens are caught as they are minted (see the preload). */
export function watchServer(server: MockServer): MockServer {
  const addKey = server.addKey;
  server.addKey = (spec: KeySpec) => {
    audit.secret(spec?.key, 'mock-server addKey()');
    return addKey(spec);
  };
  return server;
}

export function watchKeys(options: MockServerOptions | undefined): void {
  for (const spec of options?.keys ?? []) audit.secret(spec?.key, 'mock-server keys');
}

export function createMockServer(options?: MockServerOptions): MockServer {
  watchKeys(options);
  return watchServer(createMockServerReal(options));
}
