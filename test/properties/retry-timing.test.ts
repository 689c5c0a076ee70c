import { compose } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { errorMap, RateLimitError, ServerError } from '@sluice/error-map';
import { retry429 } from '@sluice/retry-429';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { params } from './config.js';
import { runUntil } from './run.js';

const URL_ = 'https://api.example/v2/items';
/** Core clamps any header wait to a year (its `MAX_HEADER_DELAY_MS`). */
const MAX_HEADER_DELAY_MS = 365 * 24 * 3600 * 1000;
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2, c = '0') => String(n).padStart(w, c);

/** The three HTTP-date forms of RFC 9110 for an instant (to the second). */
function httpDate(at: number, form: 'imf' | 'rfc850' | 'asctime'): string {
  const d = new Date(at);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const [day, month] = [DAYS[d.getUTCDay()] as string, MONTHS[d.getUTCMonth()] as string];
  if (form === 'imf') return d.toUTCString();
  if (form === 'rfc850') return `${day}, ${pad(d.getUTCDate())}-${month}-${pad(d.getUTCFullYear() % 100)} ${time} GMT`;
  return `${day.slice(0, 3)} ${month} ${pad(d.getUTCDate(), 2, ' ')} ${time} ${d.getUTCFullYear()}`;
}

/** What one 429 says: the header form, its value, and (for dates) how it is written. */
type Ask =
  | { kind: 'retry-after-seconds'; seconds: number }
  | { kind: 'retry-after-date'; offsetMs: number; form: 'imf' | 'rfc850' | 'asctime' }
  | { kind: 'reset'; offsetMs: number; form: 'epoch-s' | 'epoch-ms' | 'delta-s' }
  | { kind: 'both'; first: Ask; reset: Ask }
  | { kind: 'nothing'; value: string | undefined };

/** The headers of `ask` answered at `now`, and the earliest instant they allow a re-send (undefined: they ask nothing). */
function render(ask: Ask, now: number, status = 429): { headers: Record<string, string>; notBefore: number | undefined } {
  switch (ask.kind) {
    case 'retry-after-seconds': {
      // Decimal digits only: core reads `1e-7` as malformed.
      const text = Number.isInteger(ask.seconds) ? String(ask.seconds) : ask.seconds.toFixed(3);
      return { headers: { 'retry-after': text }, notBefore: now + Number(text) * 1000 };
    }
    case 'retry-after-date': {
      const at = Math.floor((now + ask.offsetMs) / 1000) * 1000;
      return { headers: { 'retry-after': httpDate(at, ask.form) }, notBefore: Math.max(now, at) };
    }
    case 'reset': {
      if (ask.form === 'epoch-ms') {
        return { headers: { 'x-ratelimit-reset': String(now + ask.offsetMs) }, notBefore: status === 429 ? now + ask.offsetMs : undefined };
      }
      const s = ask.form === 'delta-s' ? Math.floor(ask.offsetMs / 1000) : Math.ceil((now + ask.offsetMs) / 1000);
      const notBefore = ask.form === 'delta-s' ? now + s * 1000 : Math.max(now, s * 1000);
      return {
        headers: { 'x-ratelimit-reset': String(s), 'x-ratelimit-remaining': '0' },
        notBefore: status === 429 ? notBefore : undefined,
      };
    }
    case 'both': {
      // Retry-After wins over the reset.
      const first = render(ask.first, now);
      return { headers: { ...render(ask.reset, now).headers, ...first.headers }, notBefore: first.notBefore };
    }
    default:
      return { headers: ask.value === undefined ? {} : { 'retry-after': ask.value }, notBefore: undefined };
  }
}

const offsetMs = fc.oneof(fc.nat({ max: 5000 }), fc.nat({ max: 200_000 }), fc.integer({ min: -100_000, max: 0 }));
const retryAfterSeconds: fc.Arbitrary<Ask> = fc
  .oneof(fc.nat({ max: 200 }), fc.double({ min: 0, max: 200, noNaN: true }), fc.constant(10 ** 12))
  .map((seconds) => ({ kind: 'retry-after-seconds', seconds }));
const retryAfterDate: fc.Arbitrary<Ask> = fc
  .record({ offsetMs, form: fc.constantFrom('imf' as const, 'rfc850' as const, 'asctime' as const) })
  .map((a) => ({ kind: 'retry-after-date', ...a }));
// X-RateLimit-Reset as epoch seconds, epoch milliseconds, or seconds from now, as servers send it.
const reset: fc.Arbitrary<Ask> = fc
  .record({ offsetMs: fc.nat({ max: 200_000 }), form: fc.constantFrom('epoch-s' as const, 'epoch-ms' as const, 'delta-s' as const) })
  .map((a) => ({ kind: 'reset', ...a }));
const both: fc.Arbitrary<Ask> = fc
  .tuple(fc.oneof(retryAfterSeconds, retryAfterDate), reset)
  .map(([first, r]) => ({ kind: 'both', first, reset: r }));
const nothing: fc.Arbitrary<Ask> = fc
  .constantFrom(undefined, 'soon', '-5', '1e3', 'Fri, 31 Feb 2026 25:00:00 GMT')
  .map((value) => ({ kind: 'nothing', value }));
const ask: fc.Arbitrary<Ask> = fc.oneof(retryAfterSeconds, retryAfterDate, reset, both, nothing);

test('retry-429 never re-sends before the server allows, and gives up with a RateLimitError when the ask exceeds maxDelayMs', async () => {
  const scenario = fc.record({
    start: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2030, 0, 1) }),
    maxDelayMs: fc.oneof(fc.nat({ max: 120_000 }), fc.constant(60_000)),
    // Mostly 429s; a 503 of a GET is retried too, on Retry-After alone (its reset headers say nothing about recovery).
    asks: fc.array(fc.tuple(ask, fc.constantFrom(429, 429, 429, 503)), { minLength: 1, maxLength: 4 }),
    random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = createTestClock({ now: s.start, flushRounds: 1 });
      const asked: (number | undefined)[] = [];
      const answers = s.asks.map(([a, status]) => () => {
        const { headers, notBefore } = render(a, clock.now(), status);
        asked.push(notBefore);
        return new Response('slow down', { status, headers });
      });
      const transport = createFakeTransport({ clock })
        .queue(...answers)
        .fallback(() => new Response('ok'));
      const maxRetries = 3;
      const api = compose([errorMap(), retry429({ maxDelayMs: s.maxDelayMs, maxRetries, random: () => s.random })], {
        fetch: transport.fetch,
        clock,
      });
      let outcome: unknown;
      api(URL_).then(
        (r) => {
          outcome = r;
        },
        (e) => {
          outcome = e;
        },
      );
      assert.ok(await runUntil(clock, () => outcome !== undefined), 'the call settled');
      const calls = transport.calls;
      // Each re-send comes no earlier than the answer before it allowed, and exactly then (to the ms) when it asked.
      for (let i = 1; i < calls.length; i++) {
        const sent = (calls[i] as { at: number }).at;
        const prev = (calls[i - 1] as { at: number }).at;
        const notBefore = asked[i - 1];
        if (notBefore === undefined) {
          assert.ok(sent >= prev && sent <= prev + s.maxDelayMs, 'a backoff within maxDelayMs');
        } else {
          assert.ok(sent >= notBefore, `re-sent at +${sent - prev} ms, asked to wait until +${notBefore - prev} ms`);
          assert.ok(sent < notBefore + 1, 'and no later than needed');
        }
      }
      // It stops at the first ask over maxDelayMs, or after maxRetries retries, with the 429 mapped to a RateLimitError.
      const tooLong = asked.findIndex((at, i) => at !== undefined && at - (calls[i] as { at: number }).at > s.maxDelayMs);
      const expectedCalls = Math.min(tooLong >= 0 ? tooLong + 1 : s.asks.length + 1, maxRetries + 1);
      assert.is(calls.length, expectedCalls);
      if (expectedCalls <= s.asks.length) {
        if (s.asks[expectedCalls - 1]?.[1] === 503) {
          assert.ok(outcome instanceof ServerError && outcome.status === 503, `not a ServerError: ${String(outcome)}`);
          return;
        }
        assert.ok(outcome instanceof RateLimitError, `not a RateLimitError: ${String(outcome)}`);
        const last = asked[expectedCalls - 1];
        const at = (calls[expectedCalls - 1] as { at: number }).at;
        const full = last === undefined ? undefined : Math.min(Math.ceil(last - at), MAX_HEADER_DELAY_MS);
        assert.is((outcome as RateLimitError).retryAfterMs, full, 'the error carries the full wait the server asked for');
      } else {
        assert.ok(outcome instanceof Response && outcome.status === 200);
      }
      assert.is(clock.pending, 0);
      await api.close();
    }),
    params,
  );
});

test.run();
