// `@sluice/core/http`: what interceptors need to read HTTP answers and resend requests. Kept apart from the
// main entry so a pipeline pays for these helpers only through the interceptors that use them.
export {
  type AnnouncedQuota,
  isQuotaName,
  isRateLimited,
  parseIetfRateLimit,
  parseRateLimit,
  parseRateLimitPolicy,
  parseRateLimitScope,
  parseResetValue,
  parseXRateLimit,
  type RateLimitInfo,
  serverDelay,
} from './headers/rate-limit.js';
export { clampDelay, MAX_HEADER_DELAY_MS, parseRetryAfter } from './headers/retry-after.js';
export { type KeptRequest, keepForReplay, withHeaders } from './replay.js';
export { describeUrl, isLoopbackHost } from './url.js';
