// ky alone with its 429 retry, no token handling (for reference).
import ky from 'ky';

export const createClient = (baseUrl) =>
  ky.create({ prefixUrl: baseUrl, retry: { limit: 3, statusCodes: [429], afterStatusCodes: [429] } });
