// The full sluice pipeline, as an app sets it up: every interceptor with its defaults, fetch from the platform.
import { authToken } from '../../../packages/auth-token/dist/index.mjs';
import { compose } from '../../../packages/core/dist/index.mjs';
import { errorMap } from '../../../packages/error-map/dist/index.mjs';
import { rateLimit } from '../../../packages/rate-limit/dist/index.mjs';
import { retry429 } from '../../../packages/retry-429/dist/index.mjs';

export const createClient = (apiKey, baseUrl) => compose([errorMap(), retry429(), authToken({ apiKey, baseUrl }), rateLimit()]);
