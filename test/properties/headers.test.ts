import { MAX_HEADER_DELAY_MS, parseRateLimit, parseRetryAfter } from '@sluice/core/http';
import fc from 'fast-check';
import { test } from 'uvu';
import { params } from './config.js';

const now = Date.UTC(2026, 10, 27, 12, 0, 0);
const headerText = fc.oneof(fc.string(), fc.string({ unit: 'binary-ascii' }), fc.stringMatching(/^[\d.,;=" a-zA-Z:-]{0,40}$/));
// Header values cannot carry CR, LF or NUL; Headers would reject them before any parser sees them.
const headerValue = headerText.map((s) => s.replace(/[\r\n\0]/g, ''));

test('parseRetryAfter never throws and yields undefined or a delay within [0, max]', () => {
  fc.assert(
    fc.property(headerValue, (value) => {
      const ms = parseRetryAfter(value, now);
      return ms === undefined || (Number.isInteger(ms) && ms >= 0 && ms <= MAX_HEADER_DELAY_MS);
    }),
    params,
  );
});

test('parseRetryAfter reads every non-negative integer of seconds exactly (up to the clamp)', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 400 * 24 * 3600 }),
      (seconds) => parseRetryAfter(String(seconds), now) === Math.min(seconds * 1000, MAX_HEADER_DELAY_MS),
    ),
    params,
  );
});

test('an HTTP-date in the future is never read as earlier than it says', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 30 * 24 * 3600 }), (seconds) => {
      const date = new Date(now + seconds * 1000).toUTCString();
      return parseRetryAfter(date, now) === seconds * 1000;
    }),
    params,
  );
});

test('parseRateLimit never throws on arbitrary header values and keeps fields sane', () => {
  const names = fc.constantFrom(
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
    'x-ratelimit-limit',
    'ratelimit',
    'ratelimit-policy',
    'ratelimit-remaining',
    'ratelimit-reset',
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(names, headerValue), { maxLength: 6 }), (pairs) => {
      const headers = new Headers();
      for (const [name, value] of pairs) headers.append(name, value);
      const info = parseRateLimit(headers, now);
      if (info === undefined) return true;
      const okCount = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0);
      const okReset = info.resetAt === undefined || (info.resetAt >= now && info.resetAt <= now + MAX_HEADER_DELAY_MS);
      return okCount(info.remaining) && okCount(info.limit) && okReset;
    }),
    params,
  );
});

test.run();
