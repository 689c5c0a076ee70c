// ky with its 429 retry and a hand-written token refresher in a beforeRequest hook.
import ky from 'ky';
import { createRefresher, tokenExchange } from '../refresher.mjs';

export function createClient(apiKey, baseUrl) {
  const tokens = createRefresher({ exchange: tokenExchange(fetch, new URL('/v2/auth/token/access', baseUrl).href, apiKey) });
  return ky.create({
    prefixUrl: baseUrl,
    retry: { limit: 3, statusCodes: [429], afterStatusCodes: [429] },
    hooks: { beforeRequest: [async (request) => request.headers.set('authorization', `Bearer ${await tokens.get()}`)] },
  });
}
