import {
  isRateLimited,
  MAX_HEADER_DELAY_MS,
  parseIetfRateLimit,
  parseRateLimit,
  parseRateLimitPolicy,
  parseRateLimitScope,
  parseResetValue,
  parseRetryAfter,
  parseXRateLimit,
} from '@sluice/core/http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const now = Date.UTC(2026, 10, 27, 12, 0, 0);

test('Retry-After delta-seconds becomes milliseconds', () => {
  assert.is(parseRetryAfter('30', now), 30_000);
  assert.is(parseRetryAfter(' 0 ', now), 0);
  assert.is(parseRetryAfter('1.5', now), 1500);
});

test('Retry-After as an HTTP-date counts from now, past dates mean no wait', () => {
  assert.is(parseRetryAfter('Fri, 27 Nov 2026 12:00:42 GMT', now), 42_000);
  assert.is(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now), 0);
  assert.is(parseRetryAfter('Friday, 27-Nov-26 12:01:00 GMT', now), 60_000);
  assert.is(parseRetryAfter('Fri Nov 27 12:00:10 2026', now), 10_000);
});

test('malformed Retry-After values are ignored', () => {
  for (const value of [
    '',
    '   ',
    '-5',
    'soon',
    '1e3',
    '0x10',
    '12abc',
    'NaN',
    'Infinity',
    '2026-11-27',
    'Fri, 99 Foo 2026 99:99:99 GMT',
    null,
    undefined,
  ]) {
    assert.is(parseRetryAfter(value, now), undefined, `value ${String(value)}`);
  }
});

test('absurd Retry-After values are clamped, never overflow', () => {
  assert.is(parseRetryAfter('999999999999999999999', now), MAX_HEADER_DELAY_MS);
  assert.is(parseRetryAfter('Fri, 27 Nov 2099 12:00:00 GMT', now), MAX_HEADER_DELAY_MS);
});

test('X-RateLimit-Reset is read as epoch seconds, epoch milliseconds or seconds from now by size', () => {
  assert.is(parseResetValue(String(now / 1000 + 30), now), now + 30_000);
  assert.is(parseResetValue(String(now + 5_000), now), now + 5_000);
  assert.is(parseResetValue('20', now), now + 20_000);
  assert.is(parseResetValue(String(now / 1000 - 100), now), now);
  assert.is(parseResetValue('-3', now), undefined);
  assert.is(parseResetValue('later', now), undefined);
});

test('X-RateLimit headers give remaining, reset and limit', () => {
  const headers = new Headers({ 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': String(now / 1000 + 12), 'x-ratelimit-limit': '60' });
  assert.equal(parseXRateLimit(headers, now), { remaining: 7, resetAt: now + 12_000, limit: 60, resetInWholeSeconds: true });
});

test("the requests quota of OpenAI's headers (its reset a duration) and of Anthropic's (an RFC 3339 instant); their token quotas left out", () => {
  const openai = new Headers({
    'x-ratelimit-limit-requests': '5000',
    'x-ratelimit-remaining-requests': '4999',
    'x-ratelimit-reset-requests': '12ms',
    'x-ratelimit-limit-tokens': '160000',
    'x-ratelimit-remaining-tokens': '159976',
    'x-ratelimit-reset-tokens': '9ms',
  });
  assert.equal(parseXRateLimit(openai, now), { remaining: 4999, resetAt: now + 12, limit: 5000 });
  const reset = (value: string) => parseXRateLimit(new Headers({ 'x-ratelimit-reset-requests': value }), now)?.resetAt;
  assert.is(reset('6m0s'), now + 360_000);
  assert.is(reset('59.568s'), now + 59_568);
  assert.is(reset('1h2m3s'), now + 3_723_000);
  assert.is(reset('1m30s500ms'), now + 90_500);
  assert.is(reset('soon'), undefined);
  const anthropic = new Headers({
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '49',
    'anthropic-ratelimit-requests-reset': '2026-11-27T12:00:42Z',
    'anthropic-ratelimit-tokens-remaining': '39000',
  });
  assert.equal(parseXRateLimit(anthropic, now), { remaining: 49, resetAt: now + 42_000, limit: 50, resetInWholeSeconds: true });
  // The X-RateLimit-* family first, where both are there.
  openai.set('x-ratelimit-remaining', '7');
  assert.is(parseXRateLimit(openai, now)?.remaining, 7);
});

test('X-RateLimit-Reset as a date: ISO 8601 with its zone (Mastodon), or an HTTP-date', () => {
  const iso = (reset: string) =>
    parseXRateLimit(new Headers({ 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '299', 'x-ratelimit-reset': reset }), now);
  // 12:00:42.019685 on `now`'s day: a fraction of a second, so not in whole seconds.
  assert.equal(iso('2026-11-27T12:00:42.019685Z'), { remaining: 299, resetAt: now + 42_019, limit: 300 });
  assert.equal(iso('2026-11-27T13:00:42+01:00'), { remaining: 299, resetAt: now + 42_000, limit: 300, resetInWholeSeconds: true });
  assert.equal(iso('Fri, 27 Nov 2026 12:00:42 GMT'), { remaining: 299, resetAt: now + 42_000, limit: 300, resetInWholeSeconds: true });
  // A date past is now; one without its zone (local to whom?) or of another shape is not read.
  assert.is(iso('2026-11-27T11:00:00Z')?.resetAt, now);
  assert.is(iso('2026-11-27T12:00:42')?.resetAt, undefined);
  assert.is(iso('next tuesday')?.resetAt, undefined);
  // Of the right shape, but no date: no reset, not NaN.
  assert.is(iso('2026-13-45T25:61:00Z')?.resetAt, undefined);
});

test("X-RateLimit-Reset as JavaScript's Date string (lemlist), in whole seconds; the zone's offset counts, not its name", () => {
  const now = Date.UTC(2021, 1, 16, 8, 2, 30);
  const at = (reset: string) => parseRateLimit(new Headers({ 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': reset }), now);
  // 09:02:42 at UTC+1 is 08:02:42 UTC, 12 s from now.
  const resetAt = Date.UTC(2021, 1, 16, 8, 2, 42);
  assert.equal(at('Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)'), {
    remaining: 7,
    resetAt,
    resetInWholeSeconds: true,
  });
  assert.is(at('Tue Feb 16 2021 03:32:42 GMT-0430')?.resetAt, resetAt);
  assert.is(at('Tue Foo 16 2021 09:02:42 GMT+0100')?.resetAt, undefined);
});

test('Zendesk states its limit as X-Rate-Limit; Brevo its quota as X-Sib-RateLimit-*', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(parseRateLimit(new Headers({ 'x-rate-limit': '700', 'x-rate-limit-remaining': '699' }), now), {
    limit: 700,
    remaining: 699,
  });
  // Its list endpoints add the IETF draft's names, with the reset.
  const list = new Headers({
    'x-rate-limit': '700',
    'ratelimit-limit': '700',
    'x-rate-limit-remaining': '699',
    'ratelimit-remaining': '699',
    'ratelimit-reset': '41',
  });
  assert.equal(parseRateLimit(list, now), { limit: 700, remaining: 699, resetAt: now + 41_000, resetInWholeSeconds: true });
  assert.equal(
    parseRateLimit(new Headers({ 'x-sib-ratelimit-limit': '10', 'x-sib-ratelimit-remaining': '9', 'x-sib-ratelimit-reset': '1' }), now),
    { limit: 10, remaining: 9, resetAt: now + 1000, resetInWholeSeconds: true },
  );
});

test('a reset in epoch milliseconds, or a fraction of seconds, is not in whole seconds', () => {
  const ms = parseXRateLimit(new Headers({ 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': String(now + 12_345) }), now);
  assert.equal(ms, { remaining: 7, resetAt: now + 12_345 });
  const fraction = parseIetfRateLimit(new Headers({ 'ratelimit-remaining': '7', 'ratelimit-reset': '1.5' }), now);
  assert.equal(fraction, { remaining: 7, resetAt: now + 1500 });
  const merged = parseRateLimit(
    new Headers({ 'x-ratelimit-remaining': '9', 'x-ratelimit-reset': String(now / 1000 + 4), ratelimit: '"d";r=2;t=0.25' }),
    now,
  );
  assert.equal(merged, { remaining: 2, resetAt: now + 250 });
});

test('X-RateLimit headers with junk values give nothing', () => {
  assert.is(parseXRateLimit(new Headers({ 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset': 'x' }), now), undefined);
  assert.is(parseXRateLimit(new Headers(), now), undefined);
  assert.is(parseXRateLimit(new Headers({ 'x-ratelimit-remaining': '1.5.0', 'x-ratelimit-limit': '1e3' }), now), undefined);
});

test("X-RateLimit counts with a fraction (Reddit's approximate remainder) count their whole part; Used and Remaining add up to the limit", () => {
  // Reddit: no limit stated, the reset in seconds from now.
  const reddit = new Headers({ 'x-ratelimit-used': '997', 'x-ratelimit-remaining': '3.0', 'x-ratelimit-reset': '2' });
  assert.equal(parseXRateLimit(reddit, now), { remaining: 3, resetAt: now + 2000, limit: 1000, resetInWholeSeconds: true });
  assert.equal(parseXRateLimit(new Headers({ 'x-ratelimit-remaining': '1.5' }), now), { remaining: 1 });
  // A limit stated wins (GitHub states all three).
  const github = new Headers({ 'x-ratelimit-limit': '5000', 'x-ratelimit-used': '10', 'x-ratelimit-remaining': '4980' });
  assert.equal(parseXRateLimit(github, now), { remaining: 4980, limit: 5000 });
});

test('X-RateLimit-* of two layers joined by commas (a gateway in front of an API that states its own): the one with the fewest left', () => {
  const layered = new Headers({
    'x-ratelimit-limit': '60, 5000',
    'x-ratelimit-remaining': '58, 12',
    'x-ratelimit-reset': `${now / 1000 + 30}, ${now / 1000 + 1800}`,
  });
  assert.equal(parseXRateLimit(layered, now), { remaining: 12, resetAt: now + 1_800_000, limit: 5000, resetInWholeSeconds: true });
  // A field listing another number of layers (or one) belongs to no layer known: left out.
  const uneven = new Headers({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '58, 12', 'x-ratelimit-reset': '30' });
  assert.equal(parseXRateLimit(uneven, now), { remaining: 12 });
  assert.equal(parseXRateLimit(new Headers({ 'x-ratelimit-limit': '60, 5000', 'x-ratelimit-remaining': '7' }), now), { remaining: 7 });
});

test('X-RateLimit-Remaining in tokens of X-RateLimit-Requested-Tokens each (Spring Cloud Gateway): so many requests left', () => {
  const headers = new Headers({ 'x-ratelimit-remaining': '130', 'x-ratelimit-requested-tokens': '60' });
  assert.equal(parseXRateLimit(headers, now), { remaining: 2 });
});

test('RateLimit-Reset in epoch seconds (GitLab) is that instant, told apart by size as X-RateLimit-Reset is, not a delay of decades', () => {
  const gitlab = new Headers({
    'ratelimit-limit': '600',
    'ratelimit-observed': '600',
    'ratelimit-remaining': '0',
    'ratelimit-reset': String(now / 1000 + 42),
    'ratelimit-resettime': 'Fri, 27 Nov 2026 12:00:42 GMT',
  });
  assert.equal(parseIetfRateLimit(gitlab, now), { limit: 600, remaining: 0, resetAt: now + 42_000, resetInWholeSeconds: true });
  assert.equal(parseRateLimit(gitlab, now)?.resetAt, now + 42_000);
  // The same in the structured field and the earlier combined form; deltas stay deltas.
  assert.is(parseIetfRateLimit(new Headers({ ratelimit: `"d";r=0;t=${now / 1000 + 42}` }), now)?.resetAt, now + 42_000);
  assert.is(parseIetfRateLimit(new Headers({ ratelimit: `limit=600, remaining=0, reset=${now / 1000 + 42}` }), now)?.resetAt, now + 42_000);
  assert.is(parseIetfRateLimit(new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': '42' }), now)?.resetAt, now + 42_000);
});

test('IETF structured RateLimit with RateLimit-Policy', () => {
  const headers = new Headers({ ratelimit: '"default";r=5;t=30', 'ratelimit-policy': '"default";q=60;w=60' });
  assert.equal(parseIetfRateLimit(headers, now), {
    remaining: 5,
    resetAt: now + 30_000,
    limit: 60,
    windowMs: 60_000,
    resetInWholeSeconds: true,
  });
});

test('IETF RateLimit with several quotas takes the one with fewest left', () => {
  const headers = new Headers({ ratelimit: '"minute";r=50;t=30, "hour";r=3;t=1200' });
  assert.equal(parseIetfRateLimit(headers, now), { remaining: 3, resetAt: now + 1_200_000, resetInWholeSeconds: true });
});

test('IETF draft RateLimit: limit=, remaining=, reset=', () => {
  const headers = new Headers({ ratelimit: 'limit=60, remaining=10, reset=15' });
  assert.equal(parseIetfRateLimit(headers, now), { limit: 60, remaining: 10, resetAt: now + 15_000, resetInWholeSeconds: true });
});

test('separate RateLimit-Limit, -Remaining and -Reset headers', () => {
  const headers = new Headers({ 'ratelimit-limit': '100', 'ratelimit-remaining': '0', 'ratelimit-reset': '9' });
  assert.equal(parseIetfRateLimit(headers, now), { limit: 100, remaining: 0, resetAt: now + 9_000, resetInWholeSeconds: true });
});

test('the tightest policy gives the window', () => {
  const headers = new Headers({ 'ratelimit-policy': '"hour";q=10000;w=3600, "minute";q=60;w=60' });
  assert.equal(parseIetfRateLimit(headers, now), { limit: 60, windowMs: 60_000 });
});

test('garbage IETF headers give nothing and never throw', () => {
  for (const value of ['', ';;;', '"x";r=;t=', 'r=-1', ',,,', '"a";r=abc', '=5', 'remaining']) {
    assert.is(parseIetfRateLimit(new Headers({ ratelimit: value }), now), undefined, value);
  }
});

test('parseRateLimit merges both families and keeps the tighter remaining with its reset', () => {
  const headers = new Headers({
    'x-ratelimit-remaining': '10',
    'x-ratelimit-reset': String(now / 1000 + 40),
    ratelimit: '"default";r=2;t=5',
  });
  const info = parseRateLimit(headers, now);
  assert.is(info?.remaining, 2);
  assert.is(info?.resetAt, now + 5_000);
});

test("isRateLimited: a 429, or a 403 that says so as GitHub's do (Retry-After, or none left of a stated limit)", () => {
  const answer = (status: number, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers) });
  assert.ok(isRateLimited(answer(429)));
  assert.ok(isRateLimited(answer(403, { 'retry-after': '60' })));
  assert.ok(isRateLimited(answer(403, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0' })));
  assert.not.ok(isRateLimited(answer(403)));
  assert.not.ok(isRateLimited(answer(403, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '12' })));
  // The reference API states what is left but no limit: its 403 is the key's role, whatever is left.
  assert.not.ok(isRateLimited(answer(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1767225600' })));
  assert.not.ok(isRateLimited(answer(503, { 'retry-after': '60' })));
  assert.not.ok(isRateLimited(answer(200, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0' })));
});

test('parseRateLimit gives nothing when no header is there', () => {
  assert.is(parseRateLimit(new Headers({ 'content-type': 'text/plain' }), now), undefined);
});

test('a quota the server names: X-RateLimit-Resource (GitHub), else X-RateLimit-Bucket (Discord)', () => {
  assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-resource': 'search' })), 'search');
  assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-bucket': ' 41f9a2c0e:b.1 ' })), '41f9a2c0e:b.1');
  assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-resource': 'core', 'x-ratelimit-bucket': 'b' })), 'core');
  assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-limit': '60' })), undefined);
});

test('a quota name too long, empty, or of other characters names nothing (it becomes part of a store key)', () => {
  for (const name of ['', '   ', 'a'.repeat(65), 'two words', 'a/b', 'x{y}', 'caf\u00e9'])
    assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-resource': name })), undefined, JSON.stringify(name));
  assert.is(parseRateLimitScope(new Headers({ 'x-ratelimit-resource': 'a'.repeat(64) })), 'a'.repeat(64));
});

test('X-Rate-Limit-* (X, Okta) is read as X-RateLimit-*; X-RateLimit-* wins where both are there', () => {
  const reset = now / 1000 + 900;
  const info = parseRateLimit(
    new Headers({ 'x-rate-limit-limit': '900', 'x-rate-limit-remaining': '899', 'x-rate-limit-reset': String(reset) }),
    now,
  );
  assert.equal(info, { limit: 900, remaining: 899, resetAt: reset * 1000, resetInWholeSeconds: true });
  const both = parseRateLimit(new Headers({ 'x-ratelimit-remaining': '5', 'x-rate-limit-remaining': '50' }), now);
  assert.is(both?.remaining, 5);
});

test("a gateway's per-period headers (Kong) announce a quota per period, with what is left of each", () => {
  const headers = new Headers({
    'ratelimit-limit': '10',
    'ratelimit-remaining': '8',
    'ratelimit-reset': '1',
    'x-ratelimit-limit-second': '10',
    'x-ratelimit-remaining-second': '8',
    'x-ratelimit-limit-minute': '100',
    'x-ratelimit-remaining-minute': '95',
    'x-ratelimit-limit-month': '10000',
  });
  assert.equal(parseRateLimitPolicy(headers), [
    { limit: 10, windowMs: 1000, remaining: 8, period: 'second' },
    { limit: 100, windowMs: 60_000, remaining: 95, period: 'minute' },
    // A calendar month is counted over its longest: no 31 days hold more than the limit.
    { limit: 10_000, windowMs: 31 * 86_400_000, period: 'month' },
  ]);
  // RateLimit-Policy, where stated, is what the server announces.
  headers.set('ratelimit-policy', '10;w=1');
  assert.equal(parseRateLimitPolicy(headers), [{ limit: 10, windowMs: 1000 }]);
  assert.equal(parseRateLimitPolicy(new Headers({ 'x-ratelimit-limit-minute': 'many' })), []);
});

test("Envoy's X-RateLimit-Limit in the IETF draft 03's form (the limit, then its policies): the limit read, its window announced", () => {
  const now = Date.UTC(2026, 0, 1);
  const headers = new Headers({
    'x-ratelimit-limit': '10, 10;w=60;name="per-key"',
    'x-ratelimit-remaining': '9',
    'x-ratelimit-reset': '42',
  });
  assert.equal(parseRateLimit(headers, now), { remaining: 9, limit: 10, resetAt: now + 42_000, resetInWholeSeconds: true });
  assert.equal(parseRateLimitPolicy(headers), [{ limit: 10, windowMs: 60_000, inLimitHeader: true }]);
  // A plain limit, or two layers' limits, announce no window.
  assert.equal(parseRateLimitPolicy(new Headers({ 'x-ratelimit-limit': '10' })), []);
  assert.equal(parseRateLimitPolicy(new Headers({ 'x-ratelimit-limit': '5, 950' })), []);
});

test("HubSpot's headers announce its rolling window, its second and its day, with what is left of each", () => {
  const headers = new Headers({
    'x-hubspot-ratelimit-max': '100',
    'x-hubspot-ratelimit-interval-milliseconds': '10000',
    'x-hubspot-ratelimit-remaining': '97',
    'x-hubspot-ratelimit-secondly': '10',
    'x-hubspot-ratelimit-secondly-remaining': '9',
    'x-hubspot-ratelimit-daily': '250000',
    'x-hubspot-ratelimit-daily-remaining': '249000',
  });
  assert.equal(parseRateLimitPolicy(headers), [
    { limit: 100, windowMs: 10_000, remaining: 97, hubspot: true },
    { limit: 10, windowMs: 1000, remaining: 9, hubspot: true },
    // The account's calendar day, counted over the longest (a clock going back makes it 25 hours).
    { limit: 250_000, windowMs: 25 * 3_600_000, remaining: 249_000, hubspot: true },
  ]);
  // What is left of the rolling window is the quota's remainder: the account's other apps spend it too.
  assert.equal(parseRateLimit(headers, 0), { remaining: 97, limit: 100, windowMs: 10_000 });
  // An OAuth app's answers state no daily quota; a limit without its interval announces nothing.
  const oauth = new Headers({ 'x-hubspot-ratelimit-max': '190', 'x-hubspot-ratelimit-interval-milliseconds': '10000' });
  assert.equal(parseRateLimitPolicy(oauth), [{ limit: 190, windowMs: 10_000, hubspot: true }]);
  assert.equal(parseRateLimitPolicy(new Headers({ 'x-hubspot-ratelimit-max': '100' })), []);
  assert.equal(
    parseRateLimitPolicy(new Headers({ 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-interval-milliseconds': '0' })),
    [],
  );
});

test("a token bucket's headers announce its burst per the whole steps it takes to refill it (Spring Cloud Gateway, Atlassian)", () => {
  const spring = (rate: string, burst: string, extra: Record<string, string> = {}) =>
    parseRateLimitPolicy(new Headers({ 'x-ratelimit-replenish-rate': rate, 'x-ratelimit-burst-capacity': burst, ...extra }));
  assert.equal(spring('10', '20', { 'x-ratelimit-remaining': '15' }), [{ limit: 20, windowMs: 2000, remaining: 15, bucket: true }]);
  // Refilled by whole seconds: 15 at 10 a second is safe over 2 s, not 1.5 s.
  assert.equal(spring('10', '15'), [{ limit: 15, windowMs: 2000, bucket: true }]);
  // 60 tokens a request, one a second: one request a minute.
  const minute = spring('1', '60', { 'x-ratelimit-requested-tokens': '60', 'x-ratelimit-remaining': '60' });
  assert.equal(minute, [{ limit: 1, windowMs: 60_000, remaining: 1, bucket: true }]);
  const atlassian = new Headers({
    'x-ratelimit-limit': '30',
    'x-ratelimit-remaining': '12',
    'x-ratelimit-fillrate': '20',
    'x-ratelimit-interval-seconds': '2',
  });
  assert.equal(parseRateLimitPolicy(atlassian), [{ limit: 30, windowMs: 4000, remaining: 12, bucket: true }]);
  // A bucket that holds less than a request, refills nothing, or states no size: none.
  assert.equal(spring('1', '10', { 'x-ratelimit-requested-tokens': '20' }), []);
  assert.equal(spring('0', '10'), []);
  assert.equal(parseRateLimitPolicy(new Headers({ 'x-ratelimit-fillrate': '10', 'x-ratelimit-interval-seconds': '1' })), []);
  // A year would not refill it: no window that long is taken.
  assert.equal(spring('0.000001', '100'), []);
  // RateLimit-Policy, where stated, is what the server announces.
  const both = new Headers({ 'x-ratelimit-replenish-rate': '10', 'x-ratelimit-burst-capacity': '20', 'ratelimit-policy': '10;w=1' });
  assert.equal(parseRateLimitPolicy(both), [{ limit: 10, windowMs: 1000 }]);
});

test('RateLimit-Policy: a quota of content bytes or of concurrent requests is no number of requests per window', () => {
  const headers = new Headers({
    'ratelimit-policy':
      '"bytes";q=65535;qu="content-bytes";w=10, "conc";q=5;qu="concurrent-requests", "req";q=100;qu="requests";w=60, "d";q=1000;w=86400',
  });
  assert.equal(parseRateLimitPolicy(headers), [
    { limit: 100, windowMs: 60_000 },
    { limit: 1000, windowMs: 86_400_000 },
  ]);
  const info = parseRateLimit(new Headers({ 'ratelimit-policy': '"bytes";q=10;qu="content-bytes";w=1, "req";q=100;w=60' }), now);
  assert.equal(info, { limit: 100, windowMs: 60_000 });
});

test('the IETF partition key names the quota where every policy is allocated under it, as a hash', () => {
  const policy = (value: string) => parseRateLimitScope(new Headers({ 'ratelimit-policy': value }));
  const a = policy('"burst";q=100;w=60;pk=:cmVzb3VyY2UtMQ==:, "day";q=1000;w=86400;pk=:cmVzb3VyY2UtMQ==:');
  assert.match(a ?? '', /^pk-[0-9a-f]{8}$/);
  assert.is(policy('"burst";q=100;w=60;pk=:cmVzb3VyY2UtMQ==:'), a);
  assert.is.not(policy('"burst";q=100;w=60;pk=:cmVzb3VyY2UtMg==:'), a);
  // A policy of the whole client beside it, or another partition: no one quota to count the answer under.
  assert.is(policy('"burst";q=100;w=60;pk=:cmVzb3VyY2UtMQ==:, "day";q=1000;w=86400'), undefined);
  assert.is(policy('"a";q=1;w=1;pk=:YQ==:, "b";q=1;w=1;pk=:Yg==:'), undefined);
  // The RateLimit field where no policy is stated; X-RateLimit-Resource first.
  assert.is(parseRateLimitScope(new Headers({ ratelimit: '"burst";r=5;t=30;pk=:cmVzb3VyY2UtMQ==:' })), a);
  assert.is(parseRateLimitScope(new Headers({ ratelimit: '"burst";r=5;t=30;pk=:YQ==:', 'x-ratelimit-resource': 'core' })), 'core');
  assert.is(parseRateLimitScope(new Headers({ ratelimit: 'limit=60, remaining=5, reset=30' })), undefined);
});

test.run();
