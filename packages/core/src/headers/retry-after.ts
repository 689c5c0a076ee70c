/** Largest wait a header may ask for; anything longer (or overflowing) is clamped to it. */
export const MAX_HEADER_DELAY_MS = 365 * 24 * 3600 * 1000;

const DELTA_SECONDS = /^\d+(?:\.\d+)?$/;
// The three HTTP-date forms (RFC 9110 5.6.7); Date.parse alone accepts far too much.
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

function parseHttpDate(text: string): number {
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) return Date.parse(text);
  // asctime carries no zone but means GMT; without it Date.parse would read local time.
  if (ASCTIME.test(text)) return Date.parse(`${text} GMT`);
  return Number.NaN;
}

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
  const at = parseHttpDate(text);
  if (Number.isNaN(at)) return undefined;
  return clampDelay(at - now);
}

export function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), MAX_HEADER_DELAY_MS);
}
