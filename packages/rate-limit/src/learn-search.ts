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
 */
export interface WindowSearch {
  /** The last rule that held. */
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
}

/** A window the server was seen to refuse within, and how many steps of an eighth the search takes before halving to it. */
export interface TooShort {
  ms: number;
  eighthsFirst: number;
}

export const SEARCH_AFTER_LIMITS = 2;
export const SEARCH_STEP = 1 / 8;

export const startSearch = (held: Limit, over = false, tooShort?: TooShort, span?: { ms: number; from: number }): WindowSearch => ({
  held,
  steps: 0,
  answeredSince: 0,
  over,
  tooShort: tooShort?.ms,
  eighthsFirst: tooShort?.eighthsFirst ?? 0,
  spanMs: span?.ms ?? 0,
  steppedAt: span?.from ?? 0,
});

/** An answer at `at` that showed nothing wrong: the shorter window to try now, if it is time. */
export function searchFurther(search: WindowSearch | undefined, current: Limit, at: number): number | undefined {
  if (!search || search.over || ++search.answeredSince < SEARCH_AFTER_LIMITS * current.limit || at - search.steppedAt < search.spanMs)
    return undefined;
  // An eighth shorter, or halfway to a window known too short when that is further.
  const tooShort = search.steps >= search.eighthsFirst ? search.tooShort : undefined;
  const stepped = Math.floor(current.windowMs * (1 - SEARCH_STEP));
  const windowMs = tooShort === undefined ? stepped : Math.min(stepped, Math.ceil((current.windowMs + tooShort) / 2));
  if (windowMs < 1 || (search.tooShort !== undefined && windowMs <= search.tooShort)) return undefined;
  search.steps++;
  search.held = current;
  search.answeredSince = 0;
  search.steppedAt = at;
  return windowMs;
}

/** A sign the current rule is too loose: the rule that held before it, once; undefined when the current one is that. */
export function searchBack(search: WindowSearch | undefined, current: Limit): Limit | undefined {
  if (!search || search.over || current.windowMs >= search.held.windowMs) return undefined;
  search.over = true;
  return search.held;
}
