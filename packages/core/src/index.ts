export { onAbort, raceAbort } from './abort.js';
export { createBus, type EventBus, type EventName, type Listener, type SluiceEvents, type WildcardListener } from './bus.js';
export { type Clock, systemClock } from './clock.js';
export { type ComposeOptions, compose, type SluiceFetch } from './compose.js';
export { ClosedError, hasCode, InterceptorError, isSluiceError, SluiceError, type SluiceErrorOptions } from './errors.js';
export { sleep } from './sleep.js';
export type { CallState, Context, FetchLike, Interceptor, Next, SetupContext, Teardown } from './types.js';
