// axios with axios-retry on 429 and a hand-written token refresher in a request interceptor.
import axios from 'axios';
import axiosRetry, { exponentialDelay, isNetworkError } from 'axios-retry';
import { createRefresher, tokenExchange } from '../refresher.mjs';

export function createClient(apiKey, baseUrl) {
  const tokens = createRefresher({ exchange: tokenExchange(fetch, new URL('/v2/auth/token/access', baseUrl).href, apiKey) });
  const api = axios.create({ baseURL: baseUrl });
  api.interceptors.request.use(async (config) => {
    config.headers.set('Authorization', `Bearer ${await tokens.get()}`);
    return config;
  });
  axiosRetry(api, { retries: 3, retryCondition: (e) => e.response?.status === 429 || isNetworkError(e), retryDelay: exponentialDelay });
  return api;
}
