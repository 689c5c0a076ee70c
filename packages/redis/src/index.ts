export {
  fromIoredis,
  fromNodeRedis,
  type IoredisLike,
  type NodeRedisLike,
  type RedisClientLike,
  type ScriptClient,
  toScriptClient,
} from './client.js';
export { isLockTimeoutError, isRedisUnavailableError, LockTimeoutError, RedisUnavailableError, type StoreName } from './errors.js';
export type { FailureReason } from './events.js';
export type { OnError } from './guard.js';
export { type RedisStoreOptions, storeDefaults } from './options.js';
export {
  type RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  rateLimitStoreDefaults,
  redisRateLimitStore,
} from './rate-limit-store.js';
export type { EncryptionKey } from './seal.js';
export { type RedisTokenStore, type RedisTokenStoreOptions, redisTokenStore, tokenStoreDefaults } from './token-store.js';
