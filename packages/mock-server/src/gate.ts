import type { Slot } from './concurrency.js';
import { endpointOf } from './concurrency.js';
import type { Call, Env } from './env.js';
import { problem } from './http.js';
import { type ApiKey, hasPermission } from './keys.js';
import type { Route } from './routes.js';
import { retryAfterSeconds } from './time.js';
import type { TokenProblem } from './tokens.js';

const TOKEN_PROBLEMS: Record<TokenProblem, [code: string, message: string]> = {
  missing: ['missing_token', 'the Authorization header is missing; send `Authorization: Bearer <access_token>`'],
  malformed: ['malformed_token', 'the Authorization header is not `Bearer <access_token>` with a JWT-shaped token'],
  unknown: ['invalid_token', 'the access token is not valid'],
  expired: ['token_expired', 'the access token has expired; exchange the API key for a new one'],
  revoked: ['token_revoked', 'the access token was revoked; exchange the API key for a new one'],
};

function bearerChallenge(reason: TokenProblem): Record<string, string> {
  return { 'www-authenticate': reason === 'missing' ? 'Bearer realm="sluice-mock"' : 'Bearer realm="sluice-mock", error="invalid_token"' };
}

/** 401 unless the key exists and has not expired. */
export function checkKey(env: Env, call: Call, key: ApiKey): void {
  call.keyId = key.id;
  if (env.timeline.now() >= key.expiresAt) {
    env.stats.unauthorized('keyExpired');
    throw problem(401, 'api_key_expired', `the API key ${key.id} has expired; create a new one`);
  }
  env.stats.keyRequest(key.id);
}

/** Resolves the bearer token to its key, or throws 401 with the reason. */
export function authenticate(env: Env, call: Call): ApiKey {
  const check = env.tokens.check(call.request.headers.get('authorization'));
  if (!check.ok) {
    call.keyId = check.keyId;
    env.stats.unauthorized(check.reason);
    const [code, message] = TOKEN_PROBLEMS[check.reason];
    throw problem(401, code, message, bearerChallenge(check.reason));
  }
  const key = env.keys.byId(check.keyId);
  if (!key) {
    env.stats.unauthorized('revoked');
    throw problem(401, 'token_revoked', 'the API key behind this access token was deleted', bearerChallenge('revoked'));
  }
  checkKey(env, call, key);
  return key;
}

function tooMany(env: Env, retryAtServer: number, code: string, message: string) {
  const waitMs = env.timeline.toClientMs(Math.max(0, retryAtServer - env.timeline.now()));
  return problem(429, code, message, { 'retry-after': String(retryAfterSeconds(waitMs)) });
}

/** Counts the request against its key's limit at arrival; throws 429 when the limit is spent. */
export function countRequest(env: Env, call: Call): void {
  const decision = env.limiter(call.keyId).take(env.timeline.now());
  call.limit = decision;
  if (decision.allowed) return;
  env.stats.limited('rate', call.keyId);
  const seconds = Math.round(env.o.windowMs / 1000);
  throw tooMany(env, decision.retryAt, 'rate_limited', `rate limit exceeded: ${env.o.limit} requests per ${seconds} s per API key`);
}

/** 403 when the key's role lacks what the route needs. */
export function authorize(env: Env, call: Call, key: ApiKey, route: Route): void {
  if (route.permission === undefined || hasPermission(key.role, route.permission)) return;
  env.stats.forbidden();
  throw problem(403, 'forbidden', `the role "${key.role}" of API key ${key.id} may not call ${call.method} ${route.template}`);
}

/** Takes one of the key's concurrent slots on this endpoint; throws 429 when all are taken. */
export function takeSlot(env: Env, call: Call, keyId: string, route: Route): Slot {
  const endpoint = endpointOf(env.o.concurrencyScope, call.method, call.url.pathname, route.template);
  const slot = env.concurrency.acquire(keyId, endpoint);
  if (!slot) {
    env.stats.limited('concurrency', keyId);
    const message = `too many concurrent requests: at most ${env.o.concurrency} in flight per endpoint per API key`;
    throw tooMany(env, env.timeline.now(), 'too_many_concurrent_requests', message);
  }
  env.stats.concurrency(endpoint, keyId, slot.count);
  return slot;
}

/** Answers 429 to everything while a storm lasts. */
export function checkStorm(env: Env, call: Call): void {
  const left = env.faults.stormLeft();
  if (left <= 0) return;
  env.stats.limited('storm', call.keyId);
  const resetAt = env.timeline.now() + left * env.timeline.scale;
  call.limit = { remaining: 0, resetAt };
  throw tooMany(env, resetAt, 'rate_limited', 'rate limit exceeded: the server is shedding load');
}

function latencyMs(env: Env): number {
  const latency = env.latency;
  if (typeof latency === 'number') return latency;
  return latency.min + env.random() * (latency.max - latency.min);
}

/**
 * Waits the configured latency (plus `extraMs`) on the injected clock. Rejects with the caller's
 * abort reason if the request is aborted, and answers 503 if the server closes meanwhile.
 */
export async function delay(env: Env, call: Call, extraMs = 0): Promise<void> {
  call.waited = true;
  const ms = latencyMs(env) + extraMs;
  if (call.request.signal.aborted) throw call.request.signal.reason;
  if (env.closed.aborted) throw problem(503, 'server_closed', 'the mock server is closed');
  if (ms <= 0) return;
  // AbortSignal.any follows both without a listener on the server-wide signal per request in flight.
  const stop = AbortSignal.any([call.request.signal, env.closed]);
  try {
    await env.clock.sleep(ms, stop);
  } catch {
    if (call.request.signal.aborted) throw call.request.signal.reason;
    throw problem(503, 'server_closed', 'the mock server closed while answering');
  }
}
