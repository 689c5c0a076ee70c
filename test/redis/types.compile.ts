// Compile-only type expectations (checked by `tsc -p test/tsconfig.json`, never run).
import { authToken } from '@sluice/auth-token';
import { createBus } from '@sluice/core';
import { rateLimit } from '@sluice/rate-limit';
import {
  fromIoredis,
  fromNodeRedis,
  type RedisTokenStore,
  redisRateLimitStore,
  redisTokenStore,
  type ScriptClient,
  storeDefaults,
  tokenStoreDefaults,
} from '@sluice/redis';
import { createClient, IORedis } from './helpers.js';

const node = createClient();
const io = new IORedis();

// Real clients of both libraries are accepted as they are, and by their adapters.
redisRateLimitStore({ client: node });
redisRateLimitStore({ client: io });
redisRateLimitStore({ client: fromNodeRedis(node) });
redisRateLimitStore({ client: fromIoredis(io) });
const custom: ScriptClient = { runSha: async () => null, run: async () => null };
redisRateLimitStore({ client: custom, onError: 'fail-closed', pollMs: 50, fallbackShare: 0.25 });

// The stores plug into the interceptors.
const tokens: RedisTokenStore = redisTokenStore({ client: node, encryptionKey: 'x'.repeat(32) });
authToken({ apiKey: 'k', baseUrl: 'https://api.example', store: tokens });
rateLimit({ store: redisRateLimitStore({ client: node }) });

// Events are typed on the core bus.
const bus = createBus();
bus.on('redis:fallback', (e) => e.store satisfies 'rate-limit' | 'token');
bus.on('redis:recovered', (e) => e.downMs satisfies number);
bus.on('redis:unavailable', (e) => e.reason satisfies 'timeout' | 'error');
bus.on('redis:token-unreadable', (e) => e.keyId satisfies string);

// @ts-expect-error `onError` is one of two words
redisRateLimitStore({ client: node, onError: 'ignore' });
// @ts-expect-error a client is required
redisRateLimitStore({});
// @ts-expect-error the secret is a string or bytes
redisTokenStore({ client: node, encryptionKey: 42 });
// @ts-expect-error defaults are frozen
storeDefaults.prefix = 'x';
tokenStoreDefaults.lockTtlMs satisfies number;
