// The hand-written token refresher alone (for reference).
import { createRefresher, tokenExchange } from '../refresher.mjs';

export const createTokens = (apiKey, tokenUrl) => createRefresher({ exchange: tokenExchange(fetch, tokenUrl, apiKey) });
