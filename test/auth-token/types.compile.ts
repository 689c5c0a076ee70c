// Compile-only: checked by `tsc -p test/tsconfig.json`, never run.
import { type AuthTokenInterceptor, authToken, type TokenReason, type TokenStore } from '@sluice/auth-token';
import { compose } from '@sluice/core';

const auth: AuthTokenInterceptor = authToken({ apiKey: async () => 'k', baseUrl: 'https://api.example' });
const api = compose([auth]);

// Importing the package types its events on every bus.
api.events.on('auth:token-acquired', (e) => {
  const reason: TokenReason = e.reason;
  const at: number = e.expiresAt;
  const ms: number = e.latencyMs;
  void [reason, at, ms];
});
api.events.on('auth:key-expiring', (e) => void (e.thresholdMs satisfies number));

// @ts-expect-error not a reason
const wrong: TokenReason = 'refresh';
void wrong;

// @ts-expect-error apiKey is required
authToken({ baseUrl: 'https://api.example' });

// @ts-expect-error the provider must return a string
authToken({ apiKey: () => 42, baseUrl: 'https://api.example' });

// A store implements four small async methods; `lock` is optional.
const store: TokenStore = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => {},
};
authToken({ apiKey: 'k', baseUrl: 'https://api.example', store });

// rotate() takes a new key or provider, and an optional expiry.
auth.rotate(async () => 'k2', new Date());
auth.rotate();
