import { clampDelay, MAX_HEADER_DELAY_MS, parseRetryAfter } from './retry-after.js';

/** What a response says about the caller's quota. Every field is optional: servers send what they send. */
export interface RateLimitInfo {
  /** Requests left until `resetAt`. */
  remaining?: number;
  /** Epoch milliseconds when the quota is restored. */
  resetAt?: number;
  /** Requests allowed per window. */
  limit?: number;
  /** Window length in milliseconds (from `RateLimit-Policy`, or HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds`). */
  windowMs?: number;
  /** `resetAt` was stated in whole seconds (epoch or from now), rounded up as servers do: the quota may be back up to a second sooner. */
  resetInWholeSeconds?: true;
}

const INTEGER = /^\d{1,15}$/;
const NUMBER = /^\d{1,15}(?:\.\d+)?$/;

function integer(value: string | null | undefined): number | undefined {
  const text = value?.trim();
  return text && INTEGER.test(text) ? Number(text) : undefined;
}

function seconds(value: string | null | undefined): number | undefined {
  const text = value?.trim();
  return text && NUMBER.test(text) ? Number(text) : undefined;
}

/** A count stated with a fraction, as Reddit's `X-Ratelimit-Remaining: 598.0` (approximate): its whole part. */
function wholePart(value: string | null | undefined): number | undefined {
  const n = seconds(value);
  return n === undefined ? undefined : Math.floor(n);
}

/** An instant in ISO 8601 with its zone, as Mastodon states its reset: `2020-09-08T13:25:00.019685Z`. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * A date as JavaScript's `Date.prototype.toString()` writes it, as lemlist states its reset:
 * `Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)`. The zone's name says nothing the offset does not.
 */
const JS_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) (\d{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-])(\d{2})(\d{2})(?: \(.*\))?$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Epoch milliseconds of a `JS_DATE`, read by hand: engines need not parse another engine's `toString()`. */
function parseJsDate(text: string): number | undefined {
  const parts = JS_DATE.exec(text);
  if (!parts) return undefined;
  const [, monthName = '', day, year, hours, minutes, secondsPart, sign, offsetHours, offsetMinutes] = parts;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0) return undefined;
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return Date.UTC(Number(year), month, Number(day), Number(hours), Number(minutes), Number(secondsPart)) - offsetMs;
}

/** A duration with its units, as OpenAI states a reset: `6m0s`, `59.568s`, `12ms`, `1h2m3s`. */
const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/** A reset as read: when, and whether it was stated in whole seconds (rounded up: the quota may be back up to a second sooner). */
interface Reset {
  resetAt?: number;
  resetInWholeSeconds?: true;
}

/** An instant, no earlier than now and no later than the longest wait a header may ask for. */
const instant = (at: number, now: number) => Math.min(Math.max(at, now), now + MAX_HEADER_DELAY_MS);

/**
 * A reset however it is stated. A number is epoch seconds (the reference API), epoch milliseconds or seconds from now,
 * told apart by size: no delay is a billion seconds long. An integer below epoch milliseconds is in whole seconds. A
 * date is read too: ISO 8601 with its zone (Mastodon: `2020-09-08T13:25:00.019685Z`; in whole seconds without a
 * fraction), an HTTP-date, or JavaScript's `Date` string (lemlist; both in whole seconds); and a duration with its units (OpenAI: `6m0s`).
 */
function readReset(value: string | null | undefined, now: number): Reset {
  const text = value?.trim();
  if (!text) return {};
  const n = seconds(text);
  if (n !== undefined) {
    // An instant stays that instant (a delay from a fractional `now` rounded up would move it): the past is now.
    const at = n >= 1e12 ? n : n >= 1e9 ? n * 1000 : undefined;
    const resetAt = at !== undefined ? instant(at, now) : now + clampDelay(n * 1000);
    return INTEGER.test(text) && n < 1e12 ? { resetAt, resetInWholeSeconds: true } : { resetAt };
  }
  const iso = ISO_INSTANT.exec(text);
  if (iso) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return {};
    return iso[1] === undefined ? { resetAt: instant(at, now), resetInWholeSeconds: true } : { resetAt: instant(at, now) };
  }
  const delay = parseRetryAfter(text, now);
  if (delay !== undefined) return { resetAt: now + delay, resetInWholeSeconds: true };
  const jsDate = parseJsDate(text);
  if (jsDate !== undefined) return { resetAt: instant(jsDate, now), resetInWholeSeconds: true };
  const parts = DURATION.exec(text);
  if (!parts) return {};
  const [h = 0, m = 0, s = 0, ms = 0] = parts.slice(1).map((part) => Number(part ?? 0));
  return { resetAt: now + clampDelay(((h * 60 + m) * 60 + s) * 1000 + ms) };
}

/** When a reset stated as `X-RateLimit-Reset` is (any form `readReset` takes), or undefined. */
export function parseResetValue(value: string | null | undefined, now: number): number | undefined {
  return readReset(value, now).resetAt;
}

/**
 * The header names of a quota's limit, what remains of it and its reset, as the `X-RateLimit-*` family spells them:
 * most APIs' (with `-Used` and `-Requested-Tokens` beside them), `X-Rate-Limit-*` (X's API, Okta; Zendesk's limit is
 * `X-Rate-Limit`), Brevo's `X-Sib-RateLimit-*`, and the requests
 * quota of OpenAI's (`X-RateLimit-Remaining-Requests`, its reset a duration: `6m0s`, `12ms`) and of Anthropic's
 * (`Anthropic-RateLimit-Requests-Remaining`, its reset an RFC 3339 instant). Their token quotas count no requests.
 */
interface XFamily {
  limit: string;
  /** Another name the limit goes by in this family: Zendesk states `X-Rate-Limit: 700` beside `X-Rate-Limit-Remaining`. */
  limitAlso?: string;
  remaining: string;
  reset: string;
  used?: string;
  cost?: string;
}

const X_FAMILIES: XFamily[] = [
  {
    limit: 'x-ratelimit-limit',
    remaining: 'x-ratelimit-remaining',
    reset: 'x-ratelimit-reset',
    used: 'x-ratelimit-used',
    cost: 'x-ratelimit-requested-tokens',
  },
  { limit: 'x-rate-limit-limit', limitAlso: 'x-rate-limit', remaining: 'x-rate-limit-remaining', reset: 'x-rate-limit-reset' },
  { limit: 'x-sib-ratelimit-limit', remaining: 'x-sib-ratelimit-remaining', reset: 'x-sib-ratelimit-reset' },
  { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  {
    limit: 'anthropic-ratelimit-requests-limit',
    remaining: 'anthropic-ratelimit-requests-remaining',
    reset: 'anthropic-ratelimit-requests-reset',
  },
];

/**
 * Reads `X-RateLimit-Remaining`, `X-RateLimit-Reset` and `X-RateLimit-Limit`, or the same of another spelling
 * (`X_FAMILIES`), the first found; else what is left of HubSpot's rolling window, with its limit and length. Counts
 * stated with a fraction (Reddit's `598.0`) count their whole part; without a limit, `X-RateLimit-Used` and what remains
 * add up to it (Reddit). Where each request costs `X-RateLimit-Requested-Tokens` (Spring Cloud Gateway), what remains
 * is in tokens: so many requests' worth.
 */
export function parseXRateLimit(headers: Headers, now: number): RateLimitInfo | undefined {
  for (const family of X_FAMILIES) {
    const remaining = headers.get(family.remaining);
    const reset = headers.get(family.reset);
    const limit = headers.get(family.limit) ?? (family.limitAlso ? headers.get(family.limitAlso) : null);
    // Most responses of most APIs carry none: nothing to allocate.
    if (remaining !== null || reset !== null || limit !== null) return fromX(headers, family, { limit, remaining, reset }, now);
  }
  return hubSpotWindow(headers);
}

/** The length of HubSpot's rolling window (`X-HubSpot-RateLimit-Interval-Milliseconds`); undefined: none stated, or 0. */
function hubSpotIntervalMs(headers: Headers): number | undefined {
  const intervalMs = integer(headers.get('x-hubspot-ratelimit-interval-milliseconds'));
  return intervalMs ? clampDelay(intervalMs) : undefined;
}

/**
 * What is left of HubSpot's rolling window (`X-HubSpot-RateLimit-Remaining` of `-Max` per `-Interval-Milliseconds`):
 * it states no reset, and its quota is the account's, which other apps spend too.
 */
function hubSpotWindow(headers: Headers): RateLimitInfo | undefined {
  const remaining = integer(headers.get('x-hubspot-ratelimit-remaining'));
  if (remaining === undefined) return undefined;
  return definedOnly({ remaining, limit: integer(headers.get('x-hubspot-ratelimit-max')), windowMs: hubSpotIntervalMs(headers) });
}

interface XFields {
  limit: string | null;
  remaining: string | null;
  reset: string | null;
}

/** The numbers a field lists, joined by commas; undefined for one value, or for a date (an HTTP-date has a comma). */
function layersOf(value: string | null): string[] | undefined {
  const layers = value?.includes(',') ? value.split(',') : undefined;
  return layers?.every((layer) => seconds(layer) !== undefined) ? layers : undefined;
}

/**
 * A gateway in front of an API that states its own quota too sends each field twice, joined by commas
 * (`X-RateLimit-Remaining: 5, 950`): the layer with the fewest left wins, with its own limit and reset where each of
 * those lists as many layers (else it is left out: which layer it belongs to is not known).
 */
function tightestLayer(fields: XFields): XFields {
  const remaining = layersOf(fields.remaining);
  const limit = layersOf(fields.limit);
  const reset = layersOf(fields.reset);
  if (!remaining && !limit && !reset) return fields;
  const left = (remaining ?? [fields.remaining]).map((r) => wholePart(r) ?? Number.POSITIVE_INFINITY);
  const tightest = left.indexOf(Math.min(...left));
  const ofTightest = (layers: string[] | undefined) =>
    remaining && layers?.length === remaining.length ? (layers[tightest] ?? null) : null;
  return { remaining: remaining ? (remaining[tightest] ?? null) : fields.remaining, limit: ofTightest(limit), reset: ofTightest(reset) };
}

/** The tokens a request costs, as Spring Cloud Gateway states them (`X-RateLimit-Requested-Tokens`): one unless stated. */
const requestCost = (value: string | null) => Math.max(1, wholePart(value) ?? 1);

/** The requests `tokens` left pay for, where each costs `cost` of them. */
const requestsIn = (tokens: number | undefined, cost: number) => (tokens === undefined ? undefined : Math.floor(tokens / cost));

/**
 * The limit of a field that lists its quota policies after it, in the IETF draft 03's form, as Envoy (and Istio,
 * Limitador) send `X-RateLimit-Limit: 10, 10;w=60`: its first item. Any other value as it is.
 */
function limitBeforePolicies(value: string | null): string | null {
  return value?.includes(';') ? (value.split(',')[0] ?? null) : value;
}

function fromX(headers: Headers, family: XFamily, layered: XFields, now: number): RateLimitInfo | undefined {
  const fields = tightestLayer({ ...layered, limit: limitBeforePolicies(layered.limit) });
  const cost = family.cost ? requestCost(headers.get(family.cost)) : 1;
  const remaining = requestsIn(wholePart(fields.remaining), cost);
  const used = wholePart(family.used && fields.limit === null && remaining !== undefined ? headers.get(family.used) : null);
  return definedOnly({
    remaining,
    limit: wholePart(fields.limit) ?? (used === undefined || remaining === undefined ? undefined : used + remaining),
    ...readReset(fields.reset, now),
  });
}

interface Item {
  params: Map<string, string>;
}

/**
 * Whether a policy counts requests: its quota unit (`qu`) is not stated, or is `"request"` (`"requests"` in the draft's
 * text). A quota of content bytes or of concurrent requests is no number of requests per window.
 */
function countsRequests(params: Map<string, string>) {
  const unit = params.get('qu');
  return unit === undefined || unit === 'request' || unit === 'requests';
}

// Structured-field lists, read leniently: `"name";r=5;t=30, limit=10, remaining=5`.
function parseItems(value: string): Item[] {
  return value.split(',').map((raw) => {
    const params = new Map<string, string>();
    for (const member of raw.split(';')) {
      const eq = member.indexOf('=');
      if (eq < 0) continue;
      const key = member.slice(0, eq).trim().toLowerCase();
      const val = member
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
      if (key && !params.has(key)) params.set(key, val);
    }
    return { params };
  });
}

/**
 * Reads the IETF headers in the forms servers send: the structured `RateLimit: "p";r=5;t=30` with
 * `RateLimit-Policy: "p";q=60;w=60`, the earlier `RateLimit: limit=60, remaining=5, reset=30`, and the
 * separate `RateLimit-Limit/-Remaining/-Reset`. `reset` and `t` are seconds from now. Where several
 * quotas are given, the one with the fewest requests left wins.
 */
export function parseIetfRateLimit(headers: Headers, now: number): RateLimitInfo | undefined {
  const combined = headers.get('ratelimit');
  const remaining = headers.get('ratelimit-remaining');
  const policy = headers.get('ratelimit-policy');
  if (!combined && remaining === null && !policy) return undefined;
  const candidates: RateLimitInfo[] = [];
  if (combined) {
    const items = parseItems(combined);
    const merged = new Map<string, string>();
    for (const { params } of items) {
      if (params.has('r')) {
        candidates.push({ remaining: integer(params.get('r')), ...readReset(params.get('t'), now) });
      }
      for (const [k, v] of params) if (!merged.has(k)) merged.set(k, v);
    }
    if (merged.has('remaining')) candidates.push(fromLegacy(merged.get('limit'), merged.get('remaining'), merged.get('reset'), now));
  }
  if (remaining !== null) {
    candidates.push(fromLegacy(headers.get('ratelimit-limit'), remaining, headers.get('ratelimit-reset'), now));
  }
  const best = candidates.filter((c) => c.remaining !== undefined).sort((a, b) => (a.remaining ?? 0) - (b.remaining ?? 0))[0];
  const info: RateLimitInfo = { ...best };
  if (policy) {
    const tightest = parseItems(policy)
      .filter(({ params }) => countsRequests(params))
      .map(({ params }) => ({ limit: integer(params.get('q')), w: seconds(params.get('w')) }))
      .filter((p) => p.limit !== undefined)
      .sort((a, b) => (a.limit ?? 0) / (a.w ?? 1) - (b.limit ?? 0) / (b.w ?? 1))[0];
    if (tightest) {
      info.limit ??= tightest.limit;
      if (tightest.w !== undefined) info.windowMs = clampDelay(tightest.w * 1000);
    }
  }
  return definedOnly(info);
}

/** A quota a server announces: `limit` requests per `windowMs`, and what is left of it where stated. */
export interface AnnouncedQuota {
  limit: number;
  windowMs: number;
  remaining?: number;
  /** Announced by a gateway's per-period headers (`X-RateLimit-Limit-Minute`): the period. */
  period?: string;
  /** Read from the headers of a token bucket (`parseBucketHeaders`): its burst per the time it takes to refill it. */
  bucket?: true;
  /** Read from HubSpot's `X-HubSpot-RateLimit-*` headers (`parseHubSpotHeaders`). */
  hubspot?: true;
  /** Listed after the limit in `RateLimit-Limit` or `X-RateLimit-Limit` (the IETF draft 03's form, Envoy's), not in `RateLimit-Policy`. */
  inLimitHeader?: true;
}

/**
 * The windows of the per-period headers API gateways send (Kong's rate-limiting plugin, and plugins modelled on it):
 * one `X-RateLimit-Limit-Minute` and `X-RateLimit-Remaining-Minute` per period configured. A month and a year are
 * counted by the calendar: their longest (31 and 366 days), so that no span of that length holds more than the limit.
 */
const PERIODS: [string, number][] = [
  ['second', 1000],
  ['minute', 60_000],
  ['hour', 3_600_000],
  ['day', 86_400_000],
  ['month', 31 * 86_400_000],
  ['year', 366 * 86_400_000],
];

/**
 * Every quota `RateLimit-Policy` announces with its window, in both drafts' forms: `"burst";q=100;w=60, "day";q=1000;w=86400`
 * and `100;w=60, 1000;w=86400`; also the older drafts' `RateLimit-Limit: 100, 100;w=60` (and Envoy's `X-RateLimit-Limit`
 * in that form), and, failing those, the per-period headers of API gateways (`X-RateLimit-Limit-Second: 10`,
 * `X-RateLimit-Remaining-Second: 8`, per period), a token bucket's (`parseBucketHeaders`) or HubSpot's
 * (`parseHubSpotHeaders`). Empty when none states a window.
 */
export function parseRateLimitPolicy(headers: Headers): AnnouncedQuota[] {
  for (const parse of [parsePolicyHeaders, parsePeriodHeaders, parseBucketHeaders, parseHubSpotHeaders]) {
    const quotas = parse(headers);
    if (quotas.length) return quotas;
  }
  return [];
}

/** HubSpot's day runs from midnight to midnight in the account's time zone: 25 hours where a clock goes back. */
const LONGEST_DAY_MS = 25 * 3_600_000;

/**
 * HubSpot's quotas, each with its `-Remaining`: `X-HubSpot-RateLimit-Max` per `X-HubSpot-RateLimit-Interval-Milliseconds`
 * (a rolling window: 100 or 190 per 10 s), `X-HubSpot-RateLimit-Secondly` per second, and `X-HubSpot-RateLimit-Daily`
 * per day. The day is the account's calendar day: counted over the longest one, so that no day holds more than the limit.
 */
function parseHubSpotHeaders(headers: Headers): AnnouncedQuota[] {
  const quotas: AnnouncedQuota[] = [];
  const add = (limitName: string, remainingName: string, windowMs: number | undefined) => {
    const limit = integer(headers.get(limitName));
    if (limit === undefined || limit === 0 || !windowMs) return;
    const remaining = integer(headers.get(remainingName));
    quotas.push(remaining === undefined ? { limit, windowMs, hubspot: true } : { limit, windowMs, remaining, hubspot: true });
  };
  add('x-hubspot-ratelimit-max', 'x-hubspot-ratelimit-remaining', hubSpotIntervalMs(headers));
  add('x-hubspot-ratelimit-secondly', 'x-hubspot-ratelimit-secondly-remaining', 1000);
  add('x-hubspot-ratelimit-daily', 'x-hubspot-ratelimit-daily-remaining', LONGEST_DAY_MS);
  return quotas;
}

/**
 * A token bucket a server states: Spring Cloud Gateway's `X-RateLimit-Burst-Capacity` tokens refilled
 * `X-RateLimit-Replenish-Rate` a second, each request costing `X-RateLimit-Requested-Tokens` (one unless stated);
 * Atlassian's `X-RateLimit-Limit` tokens refilled `X-RateLimit-FillRate` every `X-RateLimit-Interval-Seconds`. As a
 * quota: the requests a full bucket holds, per the whole steps it takes to refill that many. Both servers add tokens a
 * step at a time (a second, an interval): a window of whole steps holds as many steps of refill as it is long, so no
 * span lets more go than the bucket would, and in the long run as many go where the burst is a whole number of steps'
 * refill. None where a bucket holds less than a request, or a year does not refill it.
 */
function parseBucketHeaders(headers: Headers): AnnouncedQuota[] {
  const replenish = headers.get('x-ratelimit-replenish-rate');
  const fill = replenish === null ? headers.get('x-ratelimit-fillrate') : null;
  // Most answers state no bucket: two lookups.
  if (replenish === null && fill === null) return [];
  const bucket =
    replenish !== null
      ? {
          capacity: wholePart(headers.get('x-ratelimit-burst-capacity')),
          refill: seconds(replenish),
          stepSeconds: 1,
          cost: requestCost(headers.get('x-ratelimit-requested-tokens')),
        }
      : {
          capacity: wholePart(headers.get('x-ratelimit-limit')),
          refill: seconds(fill),
          stepSeconds: seconds(headers.get('x-ratelimit-interval-seconds')),
          cost: 1,
        };
  const { capacity, refill, stepSeconds, cost } = bucket;
  if (capacity === undefined || !refill || !stepSeconds) return [];
  const limit = Math.floor(capacity / cost);
  const windowMs = Math.ceil((limit * cost) / refill) * stepSeconds * 1000;
  if (limit < 1 || windowMs > MAX_HEADER_DELAY_MS) return [];
  const remaining = requestsIn(wholePart(headers.get('x-ratelimit-remaining')), cost);
  return [remaining === undefined ? { limit, windowMs, bucket: true } : { limit, windowMs, remaining, bucket: true }];
}

function parsePeriodHeaders(headers: Headers): AnnouncedQuota[] {
  const quotas: AnnouncedQuota[] = [];
  for (const [period, windowMs] of PERIODS) {
    const limit = integer(headers.get(`x-ratelimit-limit-${period}`));
    if (limit === undefined || limit === 0) continue;
    const remaining = integer(headers.get(`x-ratelimit-remaining-${period}`));
    quotas.push(remaining === undefined ? { limit, windowMs, period } : { limit, windowMs, remaining, period });
  }
  return quotas;
}

function parsePolicyHeaders(headers: Headers): AnnouncedQuota[] {
  const quotas: AnnouncedQuota[] = [];
  for (const name of ['ratelimit-policy', 'ratelimit-limit', 'x-ratelimit-limit']) {
    const value = headers.get(name);
    if (!value) continue;
    for (const raw of value.split(',')) {
      const [first = '', ...rest] = raw.split(';');
      const { params } = parseItems(rest.join(';'))[0] as Item;
      const limit = integer(params.get('q') ?? first);
      const w = seconds(params.get('w'));
      if (limit !== undefined && limit > 0 && w !== undefined && w > 0 && countsRequests(params))
        quotas.push(
          name === 'ratelimit-policy'
            ? { limit, windowMs: clampDelay(w * 1000) }
            : { limit, windowMs: clampDelay(w * 1000), inLimitHeader: true },
        );
    }
    if (quotas.length) break;
  }
  return quotas;
}

/** A quota name a server may state: short, and nothing but letters, digits and `._:-` (it becomes part of a store key). */
const QUOTA_NAME = /^[\w.:-]{1,64}$/;

/** Whether `name` is a quota name the limiter takes (`parseRateLimitScope`), wherever it was read from. */
export const isQuotaName = (name: unknown): name is string => typeof name === 'string' && QUOTA_NAME.test(name);

/**
 * The name of the quota an answer was counted against, where the server names it: `X-RateLimit-Resource` (GitHub:
 * `core`, `search`, `graphql`) or `X-RateLimit-Bucket` (Discord), else the IETF partition key (`partitionOf`). Answers
 * of one key naming different quotas were counted apart. Undefined: none named, or a name too long or of other
 * characters.
 */
export function parseRateLimitScope(headers: Headers): string | undefined {
  const name = (headers.get('x-ratelimit-resource') ?? headers.get('x-ratelimit-bucket'))?.trim();
  if (name !== undefined) return isQuotaName(name) ? name : undefined;
  return partitionOf(headers);
}

/**
 * The IETF partition key (`pk=:…:`) every policy of the answer is allocated under, as a quota name (`pk-` and a hash of
 * it: a byte sequence is no name). The draft allocates quotas per partition key. Only where each item of
 * `RateLimit-Policy` (else of `RateLimit`) states the same one: a policy without it (a quota of the whole client) or
 * with another is counted across partitions, and splitting by one would count it in each.
 */
function partitionOf(headers: Headers): string | undefined {
  const value = headers.get('ratelimit-policy') ?? headers.get('ratelimit');
  if (!value) return undefined;
  let key: string | undefined;
  for (const { params } of parseItems(value)) {
    const pk = params.get('pk');
    if (pk === undefined || (key !== undefined && pk !== key)) return undefined;
    key = pk;
  }
  return key && `pk-${fnv1a(key)}`;
}

/** A 32-bit FNV-1a hash, in hex: a short, stable name for a value too long or of other characters. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * The IETF drafts' `limit=`/`remaining=`/`reset=` and `RateLimit-Limit/-Remaining/-Reset`. The reset is seconds from
 * now in the drafts; GitLab sends the same names with epoch seconds (`RateLimit-Reset: 1563325137`), told apart by size
 * as `X-RateLimit-Reset` is (read as a delay, it would be a year away).
 */
function fromLegacy(
  limit: string | null | undefined,
  remaining: string | null | undefined,
  reset: string | null | undefined,
  now: number,
): RateLimitInfo {
  return { limit: integer(limit), remaining: integer(remaining), ...readReset(reset, now) };
}

/** Both header families, merged: the smaller `remaining` wins, with its reset. */
export function parseRateLimit(headers: Headers, now: number): RateLimitInfo | undefined {
  const x = parseXRateLimit(headers, now);
  const ietf = parseIetfRateLimit(headers, now);
  if (!x || !ietf) return x ?? ietf;
  const tighter = (ietf.remaining ?? Number.POSITIVE_INFINITY) < (x.remaining ?? Number.POSITIVE_INFINITY) ? ietf : x;
  const merged: RateLimitInfo = { ...ietf, ...x, ...tighter };
  // The reset's resolution goes with the reset.
  const resetFrom = [tighter, x, ietf].find((info) => info.resetAt !== undefined);
  if (!resetFrom?.resetInWholeSeconds) delete merged.resetInWholeSeconds;
  else merged.resetInWholeSeconds = true;
  return merged;
}

function definedOnly(info: RateLimitInfo): RateLimitInfo | undefined {
  const out: RateLimitInfo = {};
  let any = false;
  for (const key of Object.keys(info) as (keyof RateLimitInfo)[]) {
    if (info[key] !== undefined) {
      (out as Record<string, unknown>)[key] = info[key];
      any = true;
    }
  }
  return any ? out : undefined;
}

/**
 * Milliseconds the server asked the caller to wait, uncapped, or undefined. `Retry-After` wins: it answers this
 * very request. Failing that, on a rate-limit answer (`limited`), the quota's reset says when the window reopens.
 * On other answers the reset means nothing: the reference API sends it with every response.
 */
export function serverDelay(headers: Headers, now: number, limited: boolean): number | undefined {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined || !limited) return retryAfter;
  const resetAt = parseRateLimit(headers, now)?.resetAt;
  return resetAt === undefined ? undefined : Math.max(0, resetAt - now);
}

/**
 * Whether an answer refuses for the rate: a 429, or a 403 that says so as GitHub's do, with `Retry-After` (its
 * secondary limits) or with `X-RateLimit-Remaining: 0` beside `X-RateLimit-Limit` (its primary one). A 403 for
 * permissions states neither (the reference API states what is left, but no limit).
 */
export function isRateLimited({ status, headers }: { status: number; headers: Headers }): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return headers.has('retry-after') || (headers.get('x-ratelimit-remaining')?.trim() === '0' && headers.has('x-ratelimit-limit'));
}
