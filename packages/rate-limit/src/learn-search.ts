/** A rule as the learner states it. */
export interface Limit {
  limit: number;
  windowMs: number;
}

/**
 * The search below a learnt rule that is an upper bound of the server's (a 429's wait and whole-second resets round up,
 * and a round trip adds to them): once the rule held for `SEARCH_AFTER_LIMITS` of its limits' worth of answers, a window
 * shorter by `SEARCH_STEP` is tried; the first sign it is too short (a 429, or a quota the log cannot explain) brings back
 * the last one that held, for good. It costs at most one 429. With a window known too short (`tooShort`), each step
 * halves the way to it where that is further than an eighth; for a bound far below (the probe refused last, before a
 * pause four times longer), only after a first step of an eighth, which ends the search if the estimate was close.
 *
 * Against a server that takes one request at a time, where round trips hardly vary, one answer decides a step
 * (`decides`), and steps that hold grow: an estimate ten times the window (a pause of a second before the server's
 * 100 ms) comes down in six windows of it, not sixteen. A step grown too far costs one 429 more: the search goes on from
 * the last that held, by half-eighths.
 */
export interface WindowSearch {
  /** The rule the search started from, and the last rule that held. */
  from: Limit;
  held: Limit;
  /** Steps tried. */
  steps: number;
  answeredSince: number;
  over: boolean;
  /** A window the server was seen to refuse within (a probe refused, a wait in whole seconds): the search halves the way to it. */
  tooShort?: number;
  /** Steps of an eighth before halving toward `tooShort`. */
  eighthsFirst: number;
  /**
   * For a rule shorter than the server's window may be (a rate measured over many windows, held a few at a time): each
   * step also waits that long since the last (`steppedAt`), or a step too far could hold until the server's window shows it.
   */
  spanMs: number;
  steppedAt: number;
  /**
   * Steps in a row each decided by one answer, without a window known too short: each is twice the last, from an
   * eighth. -1: one grew too far, and they grow no more.
   */
  grown: number;
  /** Round trips answered in the search, for a server that takes one request at a time (see `decides`). */
  roundTrips: { fastest: number; slowest: number; seen: number };
  /** Started again below a rule a search had settled on, which held since: a 429 to its first step brings that rule back as it was. */
  again: boolean;
}

/** A window the server was seen to refuse within, and how many steps of an eighth the search takes before halving to it. */
export interface TooShort {
  ms: number;
  eighthsFirst: number;
}

/** The window halfway between two, in whole milliseconds (rounded up: toward the longer, safer one). */
export const halfwayBetween = (aMs: number, bMs: number) => Math.ceil((aMs + bMs) / 2);

export const SEARCH_AFTER_LIMITS = 2;
export const SEARCH_STEP = 1 / 8;
const MAX_STEP = 1 / 2;
const STEADY_AFTER = 8;

export const startSearch = (
  held: Limit,
  over = false,
  tooShort?: TooShort,
  span?: { ms: number; from: number },
  again = false,
): WindowSearch => ({
  from: held,
  held,
  steps: 0,
  answeredSince: 0,
  over,
  tooShort: tooShort?.ms,
  eighthsFirst: tooShort?.eighthsFirst ?? 0,
  spanMs: span?.ms ?? 0,
  steppedAt: span?.from ?? 0,
  grown: 0,
  roundTrips: { fastest: Number.POSITIVE_INFINITY, slowest: 0, seen: 0 },
  again,
});

/** A shorter window to try, and the answers without a 429 that led to it. */
export interface SearchStep {
  windowMs: number;
  answers: number;
}

/**
 * An answer at `at` that showed nothing wrong: the shorter window to try now, if it is time. An eighth shorter, or
 * halfway to a window known too short when that is further. Where one answer decides a step (`decides`), each step
 * that held doubles the next, up to half: a step too far costs the one request it let go (`searchBack`).
 */
export function searchFurther(search: WindowSearch | undefined, current: Limit, at: number, roundTripMs?: number): SearchStep | undefined {
  if (!search || search.over) return undefined;
  const decisive = roundTripMs !== undefined && decides(search, current, roundTripMs);
  // Below a bound a probe found (`eighthsFirst`), the probe taken already showed the estimate's first window free: a
  // limit's worth of answers decides the first step (a window of the estimate, up to four of the server's, not two).
  const probed = search.steps === 0 && search.eighthsFirst > 0;
  const answers = decisive ? 1 : probed ? current.limit : SEARCH_AFTER_LIMITS * current.limit;
  if (++search.answeredSince < answers || at - search.steppedAt < search.spanMs) return undefined;
  const tooShort = search.steps >= search.eighthsFirst ? search.tooShort : undefined;
  search.grown = decisive && search.tooShort === undefined && search.grown >= 0 ? search.grown + 1 : Math.min(0, search.grown);
  // Once steps grow no more, those decided by one answer are half an eighth: each costs a window, and the last that
  // holds is kept.
  const fraction = search.grown > 0 ? Math.min(MAX_STEP, SEARCH_STEP * 2 ** (search.grown - 1)) : decisive ? SEARCH_STEP / 2 : SEARCH_STEP;
  const stepped = Math.floor(current.windowMs * (1 - fraction));
  const windowMs = tooShort === undefined ? stepped : Math.min(stepped, halfwayBetween(current.windowMs, tooShort));
  if (windowMs < 1 || (search.tooShort !== undefined && windowMs <= search.tooShort)) return undefined;
  search.steps++;
  search.held = current;
  search.answeredSince = 0;
  search.steppedAt = at;
  return { windowMs, answers };
}

/**
 * Whether one answer decides a step, for a key whose server takes one request at a time (`roundTripMs` given): nothing
 * saved up lets a step too short pass, so the request sent a window after the last is refused, unless round trips vary
 * by as much as the step shortens the window. Until STEADY_AFTER round trips show how much they vary, twice the fastest.
 */
function decides(search: WindowSearch, current: Limit, roundTripMs: number) {
  const trips = search.roundTrips;
  trips.fastest = Math.min(trips.fastest, roundTripMs);
  trips.slowest = Math.max(trips.slowest, roundTripMs);
  trips.seen++;
  const spread = trips.slowest - trips.fastest;
  const unsure = trips.seen < STEADY_AFTER ? 2 * trips.fastest : 0;
  return Math.max(spread, unsure) < (current.windowMs * SEARCH_STEP) / 2;
}

/**
 * A sign the current rule is too loose: the rule that held before it; undefined when the current one is that. After a
 * step that grew past an eighth, the search goes on from there (steps grow no more); else it is over.
 */
export function searchBack(search: WindowSearch | undefined, current: Limit): Limit | undefined {
  if (!search || search.over || current.windowMs >= search.held.windowMs) return undefined;
  if (search.again && search.steps === 1) {
    search.over = true;
    return search.held;
  }
  if (search.grown > 1) {
    search.grown = -1;
    search.answeredSince = 0;
    return search.held;
  }
  search.over = true;
  // Of a server that takes one at a time, a round trip longer than most, or a send late by a few ms, may have carried
  // what held: the window is longer by as much as round trips vary, and at least half a step.
  const { fastest, slowest, seen } = search.roundTrips;
  const margin = Math.max(slowest - fastest, (search.held.windowMs * SEARCH_STEP) / 2);
  return seen ? { ...search.held, windowMs: Math.ceil(search.held.windowMs + margin) } : search.held;
}
