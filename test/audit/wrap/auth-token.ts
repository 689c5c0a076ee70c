import {
  type AuthTokenInterceptor,
  type AuthTokenOptions,
  authToken as authTokenReal,
  keyFingerprint as keyFingerprintReal,
} from '../../../packages/auth-token/src/index.js';
import { watchKey } from './audit.js';

export * from '../../../packages/auth-token/src/index.js';

export function authToken(options: AuthTokenOptions): AuthTokenInterceptor {
  const watched =
    typeof options === 'object' && options !== null && 'apiKey' in options
      ? { ...options, apiKey: watchKey(options.apiKey, 'authToken({ apiKey })') }
      : options;
  const interceptor = authTokenReal(watched);
  const rotate = interceptor.rotate;
  interceptor.rotate = function auditedRotate(this: unknown, ...args: Parameters<typeof rotate>) {
    if (args.length > 0) args[0] = watchKey(args[0], 'rotate(apiKey)');
    return rotate.apply(this, args);
  };
  return interceptor;
}

export function keyFingerprint(key: string): Promise<string> {
  watchKey(key, 'keyFingerprint(key)');
  return keyFingerprintReal(key);
}
