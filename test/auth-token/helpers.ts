import { type AuthTokenInterceptor, type AuthTokenOptions, authToken, keyFingerprint } from '@sluice/auth-token';
import { compose, type EventName, type Interceptor, type SluiceEvents, type SluiceFetch } from '@sluice/core';
import { createFakeTransport, createTestClock, type FakeTransport, json, type RecordedCall, type TestClock } from '@sluice/core/testing';
import { recordEvents } from '../helpers/index.js';

export const KEY = 'sk_live_TESTKEY_0123456789abcdef';
export const KEY2 = 'sk_live_NEWKEY_fedcba9876543210';
export const API = 'https://api.example';
export const TOKEN_PATH = '/v2/auth/token/access';

// crypto.subtle answers from a worker thread, outside the virtual clock's flush rounds; fingerprints are
// remembered per key, so computing them up front keeps every test deterministic.
export const KEY_ID = await keyFingerprint(KEY);
export const KEY2_ID = await keyFingerprint(KEY2);

type TokenReply = Response | Error | ((call: RecordedCall) => Response | Error | Promise<Response | Error>);

/**
 * A fake API behind the fake transport: the token endpoint issues `tok-N` tokens for known keys; every
 * other path answers 200 to a valid, unexpired bearer token and 401 otherwise. Expiry is counted from
 * when the exchange arrived, as a server would.
 */
export function createApi(clock: TestClock, options: { lifetimeS?: number; tokenDelayMs?: number } = {}) {
  const tokens = new Map<string, { expiresAt: number; key: string }>();
  const script: TokenReply[] = [];
  let n = 0;
  const api = {
    keys: new Set([KEY]),
    lifetimeS: options.lifetimeS ?? 900,
    tokenDelayMs: options.tokenDelayMs ?? 0,
    /** Exchanges received. */
    exchanges: 0,
    /** API calls that carried a token after its expiry. */
    expiredUses: 0,
    issued: [] as string[],
    tokens,
    /** Answers API calls (not exchanges) before the token check when it returns a response. */
    intercept: undefined as ((call: RecordedCall) => Response | Promise<Response> | undefined) | undefined,
    /** Answers for the next exchanges, used once each before the default behaviour. */
    scriptToken(...replies: TokenReply[]) {
      script.push(...replies);
    },
    revokeAll() {
      tokens.clear();
    },
    async handle(call: RecordedCall): Promise<Response | Error> {
      const url = new URL(call.url);
      if (url.pathname === TOKEN_PATH) {
        api.exchanges++;
        if (api.tokenDelayMs > 0) await clock.sleep(api.tokenDelayMs, call.request.signal);
        const scripted = script.shift();
        if (scripted) return typeof scripted === 'function' ? scripted(call) : scripted;
        const key = JSON.parse(call.text ?? '{}').api_key;
        if (!api.keys.has(key)) return json({ error: 'invalid api key' }, { status: 401 });
        const token = `tok-${++n}`;
        tokens.set(token, { expiresAt: call.at + api.lifetimeS * 1000, key });
        api.issued.push(token);
        return json({ access_token: token, expires_in: api.lifetimeS });
      }
      const intercepted = await api.intercept?.(call);
      if (intercepted) return intercepted;
      const auth = call.headers.get('authorization') ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      const entry = tokens.get(token);
      if (entry && clock.now() >= entry.expiresAt) api.expiredUses++;
      if (!entry || clock.now() >= entry.expiresAt) return json({ error: 'unauthorized' }, { status: 401 });
      return json({ method: call.method, path: url.pathname, body: call.text, token });
    },
  };
  return api;
}

export type Api = ReturnType<typeof createApi>;

export interface Harness {
  clock: TestClock;
  transport: FakeTransport;
  api: Api;
  auth: AuthTokenInterceptor;
  fetch: SluiceFetch;
  events: Array<{ type: EventName; payload: unknown }>;
  /** Payloads of one event type, in order. */
  of<K extends EventName>(type: K): SluiceEvents[K][];
  /** Calls the transport received for the token endpoint / for everything else. */
  exchangeCalls(): RecordedCall[];
  apiCalls(): RecordedCall[];
}

export function harness(
  options: Partial<AuthTokenOptions> & { lifetimeS?: number; tokenDelayMs?: number; after?: Interceptor[] } = {},
): Harness {
  const { lifetimeS, tokenDelayMs, after = [], ...authOptions } = options;
  const clock = createTestClock();
  const api = createApi(clock, { lifetimeS, tokenDelayMs });
  const transport = createFakeTransport({ clock }).fallback((call) => api.handle(call));
  const auth = authToken({ apiKey: KEY, baseUrl: API, ...authOptions });
  const fetch = compose([auth, ...after], { fetch: transport.fetch, clock });
  const { events, of } = recordEvents(fetch.events);
  const isExchange = (c: RecordedCall) => new URL(c.url).pathname === TOKEN_PATH;
  return {
    clock,
    transport,
    api,
    auth,
    fetch,
    events,
    of,
    exchangeCalls: () => transport.calls.filter(isExchange),
    apiCalls: () => transport.calls.filter((c) => !isExchange(c)),
  };
}

/** The bearer token a recorded call carried. */
export const bearer = (call: RecordedCall | undefined) => call?.headers.get('authorization')?.replace(/^Bearer /, '');

/** A JWT (unsigned; only the payload matters here) with the given claims. */
export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
