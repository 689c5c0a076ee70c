// What the demo shows while it runs: notable events as log lines, and the progress. On a terminal the progress is
// one line redrawn in place; when the output is piped it is a plain line every few seconds, with no control codes.

const path = (url) => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * @param {{ out: NodeJS.WriteStream, tty: boolean, expected?: number, status(): { incidents: number, walked: number,
 *   requests: number, rate: number, queued: number, token: string } }} o
 */
export function createLive(o) {
  const started = performance.now();
  const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  let drawn = false;
  let timer;

  const line = () => {
    const s = o.status();
    const share = o.expected ? Math.min(1, s.incidents / o.expected) : undefined;
    const percent = share === undefined ? '' : `${String(Math.floor(share * 100)).padStart(3)}% `;
    const token = `token ${s.token}`;
    if (!o.tty) {
      const done = `${s.incidents}${o.expected ? `/${o.expected}` : ''} incidents synced (${s.walked} listed)`;
      return `${stamp()} ${percent}${[done, `${s.requests} requests`, `${s.rate.toFixed(1)} req/s`, `queue ${s.queued}`, token].join(', ')}`;
    }
    const done = `${s.incidents}${o.expected ? `/${o.expected}` : ''} incidents`;
    const text = `${percent}${[done, `${s.requests} req, ${s.rate.toFixed(1)}/s`, `queue ${s.queued}`, token].join(' │ ')}`;
    // The bar takes what room is left on the line, up to 24 cells; the line never wraps, or \r could not redraw it.
    const columns = o.out.columns ?? 100;
    const cells = share === undefined ? 0 : Math.min(24, columns - text.length - 11);
    const filled = Math.round((share ?? 0) * Math.max(0, cells));
    const bar = cells >= 8 ? `${'█'.repeat(filled)}${'░'.repeat(cells - filled)} ` : '';
    return `${stamp()} ${bar}${text}`.slice(0, columns - 1);
  };
  const clear = () => {
    if (drawn) o.out.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = () => {
    clear();
    o.out.write(line());
    drawn = true;
  };

  return {
    log(text) {
      if (o.tty) clear();
      o.out.write(`${stamp()} ${text}\n`);
      if (o.tty && timer) draw();
    },
    start() {
      timer = o.tty ? setInterval(draw, 100) : setInterval(() => o.out.write(`${line()}\n`), 2500);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      if (o.tty) {
        draw();
        o.out.write('\n');
        drawn = false;
      } else o.out.write(`${line()}\n`);
    },
  };
}

/** Logs the pipeline's notable events and keeps the token state and counts for the progress line and the summary. */
export function watchEvents(events, log) {
  const tokens = { acquired: 0, refreshed: 0, retries: 0, expiresAt: undefined, exchanging: false };
  let queuedOnce = false;
  const reasons = {
    initial: 'token acquired',
    'refresh-ahead': 'token refreshed ahead of expiry, in the background',
    expired: 'token had expired: exchanged the key again',
    401: 'token rejected (401): exchanged the key again',
    rotate: 'key rotated: new token',
  };
  events.on('auth:token-requested', () => (tokens.exchanging = true));
  events.on('auth:token-acquired', (e) => {
    tokens.exchanging = false;
    tokens.acquired++;
    if (e.reason === 'refresh-ahead') tokens.refreshed++;
    tokens.expiresAt = e.expiresAt;
    log(`${reasons[e.reason] ?? e.reason} (valid ${secs(e.expiresAt - Date.now())}, exchange took ${Math.round(e.latencyMs)} ms)`);
  });
  events.on('auth:token-failed', (e) => {
    tokens.exchanging = false;
    // close() at the end of the run ends a refresh ahead that was still in flight: not a failure of the exchange.
    if (e.code === 'ERR_SLUICE_CLOSED') return log('token refresh in flight cancelled: the client is closing');
    log(`token exchange failed (${e.status ?? e.code})${e.delayMs === undefined ? '' : `, trying again in ${secs(e.delayMs)}`}`);
  });
  events.on('auth:token-invalidated', (e) => log(`token dropped (${e.reason}) after ${e.method ?? ''} ${e.url ? path(e.url) : ''}`));
  events.on('rate-limit:queued', () => {
    if (queuedOnce) return;
    queuedOnce = true;
    log('the client queues: calls wait for a slot under the limits instead of meeting 429s');
  });
  // A burst of 429s pauses the key once per answer; one line per second is enough. The same for the server's "0 left".
  const lastPause = { 429: Number.NEGATIVE_INFINITY, remaining: Number.NEGATIVE_INFINITY };
  events.on('rate-limit:paused', (e) => {
    if (Date.now() - lastPause[e.reason] < (e.reason === '429' ? 1000 : 5000)) return;
    lastPause[e.reason] = Date.now();
    log(
      e.reason === '429'
        ? `key paused ${secs(e.delayMs)} after a 429`
        : `server says 0 requests left: key paused ${secs(e.delayMs)} until its window resets`,
    );
  });
  // retry-429 reports each 429 (rate-limit:exceeded) and then the retry it schedules: one line says both.
  events.on('retry:scheduled', (e) => {
    tokens.retries++;
    const what = e.reason === 'rate-limited' ? '429' : e.reason === 'unavailable' ? '503' : 'network error';
    log(`${what} on ${e.method} ${path(e.url)}: retry (attempt ${e.attempt}) in ${secs(e.delayMs)}`);
  });
  events.on('retry:exhausted', (e) => log(`retry gave up on ${e.method} ${path(e.url)} after ${e.attempts} attempts (${e.reason})`));
  events.on('error:mapped', (e) => log(`error: ${e.status ?? e.code} on ${e.method} ${path(e.url)}`));

  const state = () => {
    if (tokens.expiresAt === undefined) return tokens.exchanging ? 'exchanging' : 'none';
    const left = Math.max(0, Math.round((tokens.expiresAt - Date.now()) / 1000));
    return tokens.exchanging ? 'refreshing' : `${left}s left`;
  };
  return { tokens, state };
}
