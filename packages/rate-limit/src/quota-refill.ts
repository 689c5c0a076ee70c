/**
 * A followed quota whose resets are stated in whole seconds: each reset can lie up to a second after the server freed
 * the quota, which more than doubles the wait at a window of a second. The refill search finds how soon after an epoch
 * starts the server has freed all of it again: above `lo`, by `hi`. Each epoch keeps one request back, which its quota
 * showed free (so it is never refused, whatever the server counts with), and starts the next epoch with it that soon;
 * the answer to it shows whether all was back, and the bracket halves.
 */
export interface RefillSearch {
  lo: number;
  hi: number;
  /**
   * A second epoch started at its reset found all back too: the server frees a window at a time. Until then nothing is
   * kept back: a bucket, busy, is never all back again, and refills as the epoch goes.
   */
  armed: boolean;
  /** Early epochs that found none of the quota back, and whether one found all back. */
  refused: number;
  shownEarly: boolean;
}

/**
 * Early epochs that found none back, none all back, that show a server freeing at its resets (the search halves the
 * second before the reset each time: after two, a quarter of it is left to win at most). Nothing is kept back again.
 */
export const REFUSED_TO_END = 2;

/** Whether an epoch keeps one back for the search: it is armed, and the server was not seen to free at its resets. */
export const keepsBack = (search: RefillSearch | undefined) =>
  search?.armed === true && (search.shownEarly || search.refused < REFUSED_TO_END);

/**
 * What a quota epoch is to the search: when it started, and, if it started early, how long after the last one, and
 * the reset the last one stated.
 */
export interface RefillEpoch {
  startedAt: number;
  earlyAfter?: number;
  lastReset?: number;
}

interface StatedQuota {
  at: number;
  limit?: number;
  remaining?: number;
  resetAt?: number;
  resetInWholeSeconds?: boolean;
}

const RESOLUTION_MS = 1000;

/** Whether an answer found all of its quota back: only the request answered counted. */
export const foundAllBack = ({ limit, remaining }: { limit?: number; remaining?: number }) =>
  limit !== undefined && remaining !== undefined && remaining >= limit - 1;

/**
 * Whether the second a reset may lie is worth the request kept back. That request costs a `limit`th of what goes; the
 * second is up to one in every `windowMs` plus one. One is kept back only where the second is worth twice as much: at a
 * limit over 6 for a window of 2 s, over 34 for one of 16 s, never at a limit of 2 (it would halve what goes).
 */
export const worthSearching = (limit: number, windowMs: number) => limit * RESOLUTION_MS > 2 * (windowMs + RESOLUTION_MS);

/** Bounds apart by this much or less are close enough: the early epoch then starts at `hi`. */
const closeEnough = ({ hi }: RefillSearch) => Math.max(8, hi / 32);

/** How long after an epoch starts the next starts early: halfway between the bounds, or at `hi` once they are close. */
export const earlyAfter = (search: RefillSearch) =>
  search.hi - search.lo > closeEnough(search) ? Math.ceil((search.lo + search.hi) / 2) : search.hi;

/**
 * The search after an epoch's first answer: none where the quota's size is not known or its reset is off whole seconds. An
 * epoch started at its reset that found all back begins one where it is worth it (the server freed the first request
 * no sooner than a second before that reset), and a second such keeps one back; one that found less, before that, ends
 * it. One started early moves a bound: all back by then (answered before the last reset), or not shown (the server may
 * also have grown slower: past `hi`, the bounds move up); none back counts toward REFUSED_TO_END.
 */
export function searchRefill(search: RefillSearch | undefined, epoch: RefillEpoch, answer: StatedQuota): RefillSearch | undefined {
  const { limit, remaining, resetAt } = answer;
  if (limit === undefined || remaining === undefined || resetAt === undefined || !answer.resetInWholeSeconds) return undefined;
  const allBack = foundAllBack(answer);
  if (epoch.earlyAfter === undefined) {
    if (search) return allBack || search.armed ? { ...search, armed: true } : undefined;
    const resetIn = resetAt - epoch.startedAt;
    if (!allBack || !worthSearching(limit, resetIn)) return undefined;
    return { lo: Math.max(0, resetIn - RESOLUTION_MS), hi: resetIn, armed: false, refused: 0, shownEarly: false };
  }
  if (!search) return undefined;
  const after = epoch.earlyAfter;
  // All back, answered before the last reset (which it may otherwise have met on its way).
  if (allBack && answer.at < (epoch.lastReset ?? Number.POSITIVE_INFINITY))
    return { ...search, hi: Math.min(search.hi, after), shownEarly: true };
  const lo = Math.max(search.lo, after);
  const refused = search.refused + (remaining === 0 ? 1 : 0);
  return { ...search, lo, hi: lo < search.hi ? search.hi : lo + 2 * closeEnough(search), refused };
}
