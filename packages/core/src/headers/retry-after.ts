/** Largest wait a header may ask for; anything longer (or overflowing) is clamped to it. */
export const MAX_HEADER_DELAY_MS = 365 * 24 * 3600 * 1000;

const DELTA_SECONDS = /^\d+(?:\.\d+)?$/;
// IMF-fixdate, RFC 850 and asctime all name a month; Date.parse alone accepts far too much.
const HTTP_DATE = /^[A-Za-z]{3},? [\w -]+ \d{1,2}:\d{2}:\d{2}( GMT)?$|^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{1,2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds to wait from `now`.
 * Returns `undefined` for a missing or malformed value, 0 for a date in the past, and clamps absurd
 * values to {@link MAX_HEADER_DELAY_MS}.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) return clampDelay(Number(text) * 1000);
  if (!HTTP_DATE.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return clampDelay(at - now);
}

export function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), MAX_HEADER_DELAY_MS);
}
