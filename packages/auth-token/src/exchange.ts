import type { Context, Next } from '@sluice/core';
import { parseRetryAfter } from '@sluice/core/http';
import { InvalidApiKeyError, TokenExchangeError, TokenResponseError } from './errors.js';
import type { TokenReason } from './events.js';
import { keyFingerprint } from './fingerprint.js';
import type { Resolved } from './options.js';
import type { StoredToken } from './store.js';
import { parseAnswer } from './token.js';

/** What one exchange needs: the chain below auth-token, the flight's own signal, and the key reader. */
export interface Flight {
  o: Resolved;
  /** The token URL as messages and events show it. */
  url: string;
  ctx: Context;
  next: Next;
  signal: AbortSignal;
  reason: TokenReason;
  read: () => Promise<string>;
  /** Last attempt made, for the final `auth:token-failed`. */
  attempt: number;
}

export const discard = (response: Response | undefined): unknown => response?.body?.cancel().catch(() => {});

/**
 * Exchanges `key` for a token through `next`, so interceptors after auth-token (a rate limiter) see it.
 * 401/403 re-reads the key once; 429 waits as `Retry-After` says; 5xx and network errors back off.
 * Resolves to the fingerprint of the key that worked (a re-read key may differ) and the token.
 */
export async function exchange(f: Flight, key: string, keyId: string): Promise<[string, StoredToken]> {
  const { o, url, ctx, signal, reason } = f;
  const { bus, clock } = ctx;
  let reread = false;
  for (let attempt = 1; ; attempt++) {
    f.attempt = attempt;
    // redirect: 'manual', because a 307 would carry the key in the body to wherever it points.
    const request = new Request(o.tokenUrl, { ...o.tokenRequest(key), signal, redirect: 'manual' });
    const method = request.method;
    bus.emit('auth:token-requested', { keyId, reason, attempt, method, url });
    // The token's life starts when the server gets the request: from its send, after any queue below (not before).
    let issuedAt = clock.now();
    f.ctx.state.beforeSend = (sent) => {
      issuedAt = clock.now();
      return sent;
    };
    let response: Response | undefined;
    let text: string | undefined;
    let cause: unknown;
    try {
      response = await f.next(request, f.ctx);
      if (response.ok) text = await response.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      [response, cause] = [undefined, error];
    }
    const status = response?.status;
    if (text !== undefined) {
      const parsed = parseAnswer(text, issuedAt, o);
      if (typeof parsed === 'string') throw new TokenResponseError(parsed, url, keyId, status);
      return [keyId, parsed];
    }
    discard(response);
    if (status === 401 || status === 403) {
      // The provider may hold a rotated secret by now: read it once more, never loop.
      const fresh = reread ? key : await f.read();
      reread = true;
      if (fresh === key) throw new InvalidApiKeyError(`API key rejected (${status})`, url, keyId, status);
      key = fresh;
      keyId = await keyFingerprint(key);
      continue;
    }
    if ((status! < 500 && status !== 429) || attempt > o.maxRetries) {
      throw new TokenExchangeError(`token exchange failed (${status ?? 'network error'})`, url, keyId, status, { cause });
    }
    let delayMs = Math.min(o.retryDelayMs * 2 ** (attempt - 1), 30_000);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response?.headers.get('retry-after'), clock.now());
      delayMs = retryAfterMs ?? delayMs;
      bus.emit('rate-limit:exceeded', { keyId, retryAfterMs, method, url });
    }
    bus.emit('auth:token-failed', { keyId, reason, attempt, code: 'ERR_SLUICE_TOKEN_EXCHANGE', status, delayMs });
    await clock.sleep(delayMs, signal);
  }
}
