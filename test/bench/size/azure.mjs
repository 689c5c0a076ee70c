// @azure/core-rest-pipeline: an empty pipeline with its throttling retry and bearer token policies, the default client.
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest,
  RestError,
  throttlingRetryPolicy,
} from '@azure/core-rest-pipeline';
import { tokenExchange } from '../refresher.mjs';

export function createClient(apiKey, baseUrl) {
  const exchange = tokenExchange(fetch, new URL('/v2/auth/token/access', baseUrl).href, apiKey);
  const credential = {
    async getToken() {
      const { token, expiresIn } = await exchange();
      return { token, expiresOnTimestamp: Date.now() + expiresIn * 1000 };
    },
  };
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(throttlingRetryPolicy());
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: 'api' }));
  const client = createDefaultHttpClient();
  return async (url) => {
    const request = createPipelineRequest({ url: new URL(url, baseUrl).href });
    const response = await pipeline.sendRequest(client, request);
    if (response.status >= 300) throw new RestError(`HTTP ${response.status}`, { statusCode: response.status, request, response });
    return response;
  };
}
