import {
  type ComposeOptions,
  compose as composeReal,
  createBus as createBusReal,
  type EventBus,
  type Interceptor,
  type SluiceFetch,
} from '../../../packages/core/src/index.js';
import { watchBus } from './audit.js';

export * from '../../../packages/core/src/index.js';

export function compose(interceptors: readonly Interceptor[], options?: ComposeOptions): SluiceFetch {
  const fetch = composeReal(interceptors, options);
  watchBus(fetch.events);
  return fetch;
}

export function createBus(): EventBus {
  return watchBus(createBusReal());
}
