export { createBus, type EventBus, type EventName, type Listener, type SluiceEvents, type WildcardListener } from './bus.js';
export { type Clock, systemClock } from './clock.js';
export { type ComposeOptions, compose, type SluiceFetch } from './compose.js';
export { ClosedError, hasCode, InterceptorError, isSluiceError, SluiceError, type SluiceErrorOptions } from './errors.js';
export {
  parseIetfRateLimit,
  parseRateLimit,
  parseResetValue,
  parseXRateLimit,
  type RateLimitInfo,
  serverDelay,
} from './headers/rate-limit.js';
export { clampDelay, MAX_HEADER_DELAY_MS, parseRetryAfter } from './headers/retry-after.js';
export { type BufferedRequest, bufferRequest, prepareReplay, withHeaders } from './replay.js';
export { sleep } from './sleep.js';
export type { CallState, Context, FetchLike, Interceptor, Next, SetupContext, Teardown } from './types.js';
export { describeUrl, isLoopbackHost } from './url.js';
