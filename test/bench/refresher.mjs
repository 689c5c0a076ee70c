// The token code a careful user writes around ky, ofetch or axios: one exchange shared by concurrent callers,
// the token reused until `skewMs` before it expires. No refresh ahead, no 401 replay, no key rotation.
// Also bundled by size/*.mjs as "a hand-written token refresher".
export function createRefresher({ exchange, skewMs = 30_000, now = () => Date.now() }) {
  let token;
  let expiresAt = 0;
  let flight;
  return {
    get() {
      if (token && now() < expiresAt - skewMs) return token;
      flight ??= exchange().then(
        (answer) => {
          flight = undefined;
          token = answer.token;
          expiresAt = now() + answer.expiresIn * 1000;
          return token;
        },
        (error) => {
          flight = undefined;
          throw error;
        },
      );
      return flight;
    },
    invalidate() {
      token = undefined;
    },
  };
}

/** The naive version found in many code bases: checks expiry, but every caller that finds none exchanges. */
export function createNaiveRefresher({ exchange, skewMs = 30_000, now = () => Date.now() }) {
  let token;
  let expiresAt = 0;
  return {
    async get() {
      if (token && now() < expiresAt - skewMs) return token;
      const answer = await exchange();
      token = answer.token;
      expiresAt = now() + answer.expiresIn * 1000;
      return token;
    },
    invalidate() {
      token = undefined;
    },
  };
}

/** The exchange itself: `POST tokenUrl {"api_key": key}` answered `{ access_token, expires_in }`. */
export const tokenExchange = (fetch, tokenUrl, apiKey, headers = {}) =>
  async function exchange() {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ api_key: apiKey }),
    });
    if (!response.ok) throw new Error(`token exchange failed: ${response.status}`);
    const body = await response.json();
    return { token: body.access_token, expiresIn: body.expires_in };
  };
