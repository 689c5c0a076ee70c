import { InFlight } from './in-flight.js';

/** A rate rule as stores receive it (`jitterMs` resolved: `Infinity` when not set). */
export interface StoreRule {
  limit: number;
  windowMs: number;
  jitterMs: number;
  /** Set: a token bucket (GCRA) of `burst` refilled `limit` per `windowMs`. Unset: a sliding log of `limit` per `windowMs`. */
  burst?: number | undefined;
  /** For a rule learnt from the server's answers: what its state starts from, if the key has none for it. */
  startsFrom?: RuleStart | undefined;
}

/**
 * Where a learnt rule's state starts: with `fromLog`, the log of a rule the key no longer uses whose window is at least
 * as long (its entries are instants, right under any limit, and it dropped none a shorter window could still count);
 * else `counted` requests counted at `at` at the latest (and, with `newestAt`, one more then); else, with `fullUntil`,
 * the server full then, its requests spread over the window before (as after a 429). `followsQuota`: the key keeps to
 * the quota its answers state (the rule only counts what is in flight), and a key state made anew sends one request
 * alone before it knows that quota.
 */
export interface RuleStart {
  fromLog?: boolean;
  followsQuota?: boolean;
  counted?: number;
  at?: number;
  newestAt?: number;
  fullUntil?: number;
}

/**
 * A log keeps each request exactly while a window holds at most this many; above, requests that can have been counted
 * within `windowMs / LOG_CELLS` of each other share one entry, dated at the latest of them. A log then never holds more
 * than `LOG_CELLS + 1` entries within its window, whatever the limit, and a shared entry frees its requests at most one
 * cell late: at most 1/64 (1.6%) of the rule's throughput.
 */
export const LOG_CELLS = 64;

/**
 * The shortest window of the rules (0: none). A 429 or a quota stated without its wait or reset is taken to mean the
 * rule of this window, whose pause it is: the longest may be a day.
 */
export const shortestWindow = (rules: readonly { windowMs: number }[]) => (rules.length ? Math.min(...rules.map((r) => r.windowMs)) : 0);

/** The longest window of the rules (0: none): past it, nothing the key sent before is counted any more. */
export const longestWindow = (rules: readonly { windowMs: number }[]) => Math.max(0, ...rules.map((r) => r.windowMs));

/**
 * Where a rule of `limit` per `windowMs` made now starts from the key's own requests it may still count, each dated at
 * the latest instant it can have been counted (`countedAt`, ascending or not): full until the instant its assumed
 * requests (`limit` of them, one a step over the window before it) lie no sooner than those, the newest last.
 */
export function fullUntilOver(countedAt: readonly number[], { limit, windowMs }: { limit: number; windowMs: number }, now: number) {
  const step = windowMs / limit;
  const newest = countedAt
    .filter((at) => at > now - windowMs)
    .sort((a, b) => a - b)
    .slice(-limit);
  let until = now - windowMs;
  // The jth newest takes the assumed request (limit - 1 - j) steps before the last, which lies a step before `until`.
  newest.forEach((at, i) => {
    const j = newest.length - 1 - i;
    until = Math.max(until, at + windowMs - (limit - 1 - j) * step);
  });
  return until;
}

/**
 * After a 429 this rule is taken to explain, the server is assumed full at `until`: `limit` requests counted one per
 * `step` over the window before it, the first at `until - windowMs`, then the key's own requests counted from `until`
 * on. A formula, not `limit` entries. It only ever adds to what the key's own entries hold the rule to.
 */
export interface AssumedFull {
  until: number;
  step: number;
}

/**
 * One rule's record of counted requests: the latest instant at which each can have been counted, in `entries`
 * (ascending) with how many requests each stands for in `counts`, and what a 429 made it assume. Requests in flight
 * are `pending` (send number to the latest instant they can be counted at, `send + min(jitterMs, leaseMs)`), until
 * released or past that instant.
 */
export interface SlidingLog {
  kind: 'log';
  rule: StoreRule;
  entries: number[];
  counts: number[];
  /** The sum of `counts`: while it leaves room, a wait is found without a walk. */
  total: number;
  assumed?: AssumedFull;
  pending: InFlight;
}

/**
 * A token bucket rule (GCRA): the theoretical arrival time of the requests counted so far, each folded in as
 * `max(arrival, at) + windowMs / limit`. Requests in flight are `pending` as in a log; released ones whose instant is
 * still ahead wait in `ahead` (ascending): until then they may have been counted at any moment, so they count as now.
 */
export interface TokenBucket {
  kind: 'bucket';
  rule: StoreRule;
  /**
   * Arrival times are kept as ms after `origin` (the first instant the bucket counted): at a limit of millions a window
   * the step is a fraction of a microsecond, below what a double holds of an epoch time, and would be lost in the sum.
   */
  origin: number;
  theoreticalArrival: number;
  ahead: number[];
  /**
   * After a 429 this rule is taken to explain: the bucket assumed empty at `emptiedAt`, as the arrival time of that
   * assumption with the key's requests counted since folded in. It only ever adds to `theoreticalArrival`.
   */
  emptiedAt: number;
  assumedArrival: number;
  pending: InFlight;
}

export type RuleState = SlidingLog | TokenBucket;

export const newRuleState = (rule: StoreRule): RuleState =>
  rule.burst
    ? {
        kind: 'bucket',
        rule,
        origin: Number.NaN,
        theoreticalArrival: Number.NEGATIVE_INFINITY,
        ahead: [],
        emptiedAt: Number.NEGATIVE_INFINITY,
        assumedArrival: Number.NEGATIVE_INFINITY,
        pending: new InFlight(),
      }
    : { kind: 'log', rule, entries: [], counts: [], total: 0, pending: new InFlight() };

/** A new state for `rule`, holding what `from` says the server counted already. */
export function startState(rule: StoreRule, from: RuleStart | undefined): RuleState {
  const state = newRuleState(rule);
  if (from?.fullUntil !== undefined) fill(state, from.fullUntil);
  else if (from?.counted && from.at !== undefined) {
    if (state.kind === 'log') addEntry(state, from.at, Math.min(from.counted, rule.limit));
    else for (let i = 0; i < Math.min(from.counted, rule.burst as number); i++) record(state, from.at);
    if (from.newestAt !== undefined) record(state, from.newestAt);
  }
  return state;
}

const NO_WAIT = Object.freeze({ at: 0, onPending: false });

const cellOf = (rule: StoreRule) => (rule.limit > LOG_CELLS ? rule.windowMs / LOG_CELLS : 0);
const stepOf = (rule: StoreRule) => rule.windowMs / rule.limit;
const sameCell = (cell: number, a: number, b: number) => (cell ? Math.ceil(a / cell) === Math.ceil(b / cell) : a === b);

const insertSorted = (values: number[], at: number) => {
  let i = values.length;
  while (i > 0 && (values[i - 1] as number) > at) i--;
  values.splice(i, 0, at);
};

/** Counts a request with the latest instant `at` it can have been counted at; a bucket folds it in once `at` is past. */
export function record(state: RuleState, at: number): void {
  if (state.kind === 'bucket') insertSorted(state.ahead, at);
  else addEntry(state, at, 1);
}

/** `at` as ms after the bucket's origin, which the first call sets. */
const offsetOf = (state: TokenBucket, at: number) => {
  if (Number.isNaN(state.origin)) state.origin = at;
  return at - state.origin;
};

const fold = (state: TokenBucket, at: number) => {
  const step = stepOf(state.rule);
  const offset = offsetOf(state, at);
  state.theoreticalArrival = Math.max(state.theoreticalArrival, offset) + step;
  if (at >= state.emptiedAt) state.assumedArrival = Math.max(state.assumedArrival, offset) + step;
};

function addEntry(state: SlidingLog, at: number, count: number) {
  const { entries, counts, assumed } = state;
  const cell = cellOf(state.rule);
  // An entry of the same cell (or, for an exact log, of the same instant) takes it, dated at the later of the two;
  // never across a 429's `until`, which the assumption counts from.
  const joins = (entry: number) => sameCell(cell, entry, at) && (!assumed || entry >= assumed.until === at >= assumed.until);
  state.total += count;
  let i = entries.length;
  while (i > 0 && (entries[i - 1] as number) > at) i--;
  if (i > 0 && joins(entries[i - 1] as number)) {
    entries[i - 1] = at;
    counts[i - 1] = (counts[i - 1] as number) + count;
  } else if (i < entries.length && joins(entries[i] as number)) counts[i] = (counts[i] as number) + count;
  else {
    entries.splice(i, 0, at);
    counts.splice(i, 0, count);
  }
}

/**
 * Takes back one request counted at `at` (a token exchange the server does not count). A bucket keeps it: a later fold
 * may have started from an idle bucket, and taking a step off its arrival time would then undercount.
 */
export function unrecord(state: RuleState, at: number): void {
  if (state.kind === 'bucket') return;
  const cell = cellOf(state.rule);
  const i = state.entries.findIndex((e) => sameCell(cell, e, at));
  if (i < 0) return;
  state.total--;
  state.counts[i] = (state.counts[i] as number) - 1;
  if (state.counts[i] === 0) {
    state.entries.splice(i, 1);
    state.counts.splice(i, 1);
  }
}

/** Counts the requests in flight that can no longer be later, and drops what has left the window. */
export function settle(state: RuleState, now: number): void {
  state.pending.takeDue(now, (latest) => record(state, latest));
  if (state.kind === 'bucket') {
    let past = 0;
    while (past < state.ahead.length && (state.ahead[past] as number) <= now) fold(state, state.ahead[past++] as number);
    if (past) state.ahead.splice(0, past);
    return;
  }
  const { entries, counts, rule, assumed } = state;
  let gone = 0;
  while (gone < entries.length && (entries[gone] as number) + rule.windowMs <= now) state.total -= counts[gone++] as number;
  if (gone) {
    entries.splice(0, gone);
    counts.splice(0, gone);
  }
  if (assumed && assumed.until - assumed.step + rule.windowMs <= now) state.assumed = undefined;
}

/** Of the requests a 429 assumed, the index of the last counted at or before `at` (-1: none; `limit - 1`: all). */
const assumedUpTo = (state: SlidingLog, at: number) => {
  const { assumed, rule } = state;
  if (!assumed) return -1;
  const index = Math.floor((at - (assumed.until - rule.windowMs)) / assumed.step);
  return Math.max(-1, Math.min(rule.limit - 1, index));
};

/**
 * The earliest instant from `now` on at which the rule lets one more request go, with requests in flight taken as
 * counted now (`Infinity` when they alone fill it: only a release can tell), and whether a release could bring it
 * forward. A log: once fewer than `limit` of its entries (and assumed requests) lie within the window; a bucket: once
 * the GCRA tolerance allows one more.
 */
export function ruleWait(state: RuleState, now: number): { at: number; onPending: boolean } {
  const { rule } = state;
  const step = stepOf(rule);
  if (state.kind === 'bucket') {
    const burst = rule.burst as number;
    const nowOffset = offsetOf(state, now);
    const start = Math.max(state.theoreticalArrival, state.assumedArrival, nowOffset);
    const inFlight = state.pending.size + state.ahead.length;
    const at = start + (inFlight - burst + 1) * step;
    // Sums of steps carry rounding noise: a billionth of a step is no wait.
    if (at <= nowOffset + step * 1e-9) return NO_WAIT;
    // Back in epoch time a wait under a microsecond may round to `now`: it must stay a wait.
    const epochAt = state.origin + at;
    const onPending = inFlight > 0 && at > Math.max(nowOffset, start + (1 - burst) * step);
    return { at: epochAt > now ? epochAt : now + Math.max(Math.abs(now) * Number.EPSILON, Number.MIN_VALUE), onPending };
  }
  const inFlight = state.pending.size;
  const room = rule.limit - inFlight;
  if (room <= 0) return { at: Number.POSITIVE_INFINITY, onPending: true };
  if (state.total < room && !state.assumed) return NO_WAIT;
  const own = latestOf(state, room, Number.NEGATIVE_INFINITY);
  const assumed = state.assumed ? latestOf(state, room, state.assumed.until) : Number.NEGATIVE_INFINITY;
  const at = Math.max(own, assumed) + rule.windowMs;
  return at > now ? { at, onPending: inFlight > 0 } : NO_WAIT;
}

/**
 * The `room`-th latest instant among the log's entries from `from` on, and the requests a 429 assumed when `from` is
 * the assumption's `until`; -Infinity when there are fewer. Walks back from the newest: assumed requests between two
 * entries count by formula, entries by their counts.
 */
function latestOf(state: SlidingLog, room: number, from: number): number {
  const { assumed, rule } = state;
  const withAssumed = assumed !== undefined && from === assumed.until;
  let counted = 0;
  let above = Number.POSITIVE_INFINITY;
  for (let i = state.entries.length - 1; i >= -1; i--) {
    const entry = i >= 0 ? (state.entries[i] as number) : Number.NEGATIVE_INFINITY;
    const own = entry >= from;
    if (withAssumed) {
      const last = assumedUpTo(state, above);
      const between = last - assumedUpTo(state, own ? entry : Number.NEGATIVE_INFINITY);
      if (counted + between >= room) return assumed.until - rule.windowMs + (last - (room - counted - 1)) * assumed.step;
      counted += between;
    }
    if (!own) break;
    counted += state.counts[i] as number;
    if (counted >= room) return entry;
    above = entry;
  }
  return Number.NEGATIVE_INFINITY;
}

/** The key's own requests the log may hold counted within the window of a request sent at `sentAt`: in flight, or dated after `sentAt - windowMs`. */
export function countedSince(state: SlidingLog, sentAt: number): number {
  const since = sentAt - state.rule.windowMs;
  let counted = state.pending.size;
  for (let i = state.entries.length - 1; i >= 0 && (state.entries[i] as number) > since; i--) counted += state.counts[i] as number;
  return counted;
}

/**
 * The whole tokens a bucket would have left at `at` if the server saw only the key's requests: its burst, less what its
 * arrival time is ahead of `at`, less the requests still in flight.
 */
export function tokensLeft(state: TokenBucket, at: number): number {
  const step = stepOf(state.rule);
  const offset = offsetOf(state, at);
  const ahead = Math.max(state.theoreticalArrival, state.assumedArrival, offset) - offset;
  return Math.floor((state.rule.burst as number) - ahead / step) - state.pending.size - state.ahead.length;
}

/**
 * A 429 this rule is taken to explain: the server is assumed full at `until` with its requests spread evenly over the
 * window before it (the key's own among them), so it frees one per `windowMs / limit` from `until` on; a bucket is
 * assumed empty at `until`. Either holds only where it is stricter than the key's own requests: the same few numbers
 * at a limit of 10 or 10 million.
 */
export function fill(state: RuleState, until: number): void {
  const { rule } = state;
  const step = stepOf(rule);
  if (state.kind === 'bucket') {
    state.emptiedAt = until;
    state.assumedArrival = offsetOf(state, until) + ((rule.burst as number) - 1) * step;
    return;
  }
  state.assumed = { until, step };
}

/** The last instant at which the rule still counts anything, requests in flight taken as counted at their latest. */
export function busyUntil(state: RuleState): number {
  let latest = state.pending.last;
  const step = stepOf(state.rule);
  if (state.kind === 'bucket') {
    latest = Math.max(latest, ...state.ahead);
    const last = Math.max(state.theoreticalArrival, state.assumedArrival, latest - state.origin);
    return Number.isNaN(last) ? latest : state.origin + last + (state.pending.size + state.ahead.length) * step;
  }
  const last = state.entries[state.entries.length - 1] ?? Number.NEGATIVE_INFINITY;
  const assumedLast = state.assumed ? state.assumed.until - step : Number.NEGATIVE_INFINITY;
  return Math.max(last, latest, assumedLast) + state.rule.windowMs;
}
