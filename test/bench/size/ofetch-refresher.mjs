// ofetch with retry on 429 (Retry-After aware) and a hand-written token refresher in onRequest.
import { ofetch } from 'ofetch';
import { createRefresher, tokenExchange } from '../refresher.mjs';

export function createClient(apiKey, baseUrl) {
  const tokens = createRefresher({ exchange: tokenExchange(fetch, new URL('/v2/auth/token/access', baseUrl).href, apiKey) });
  return ofetch.create({
    baseURL: baseUrl,
    retry: 3,
    retryStatusCodes: [429],
    retryDelay: ({ response }) => Number(response?.headers.get('retry-after') ?? 1) * 1000,
    async onRequest({ options }) {
      options.headers.set('authorization', `Bearer ${await tokens.get()}`);
    },
  });
}
