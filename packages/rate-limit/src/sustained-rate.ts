import { type Limit, SEARCH_STEP } from './learn-search.js';

/** A rate sustained is read over this many of the rule's windows or more (see `sustainedRule`). */
const SUSTAINED_WINDOWS = 16;
/** A rate a bucket sustained is held over a window at least this many round trips long (see `sustainedRule`). */
const SUSTAINED_ROUND_TRIPS = 32;

/**
 * The requests a server took since the last 429's pause, while the key kept it busy; the time from the request that
 * 429 refused (the server had nothing left) to this answer; this answer's round trip; and the most the server took at
 * once, at the start.
 */
export interface Sustained {
  accepted: number;
  spanMs: number;
  roundTripMs: number;
  burst: number;
}

/** Whether a server saves up (a bucket): its start took `burst` at once, more than twice what `rule` lets go in a window. */
export const savesUp = (rule: Limit, burst: number) => burst > 2 * rule.limit;

/**
 * Of a search step refused, the rate a server that saves up (`savesUp`) sustained since the last 429, instead of the
 * rule that held before the step, where it is slower by more than a step. Busy from one 429 to the next, a bucket
 * refilled what it took in between (empty at both), and a rule faster than that held on what it had saved. A log or a
 * window, kept busy, took nearly the rule's rate, and keeps it: over SUSTAINED_WINDOWS of the rule's windows or more,
 * the pause after the last 429 and the round trips the key waited for make less than a step of the span. The rate is
 * held over a window of SUSTAINED_ROUND_TRIPS round trips or more (each request counts until answered: a round trip a
 * window is lost), a burst no more than half what the server took at once.
 */
export function sustainedRule(held: Limit, sustained: Sustained | undefined): Limit | undefined {
  if (!sustained) return undefined;
  const { spanMs, roundTripMs, burst } = sustained;
  if (!savesUp(held, burst) || spanMs < SUSTAINED_WINDOWS * held.windowMs) return undefined;
  // Less than a request left at either 429: the bucket refilled more than all it took but one.
  const refilled = sustained.accepted - 1;
  if (refilled < 1 || spanMs * held.limit <= held.windowMs * (1 + SEARCH_STEP) * refilled) return undefined;
  const spread = Math.ceil((refilled * SUSTAINED_ROUND_TRIPS * roundTripMs) / spanMs);
  const limit = Math.max(held.limit, Math.min(Math.floor(burst / 2), spread));
  return { limit, windowMs: Math.ceil((limit * spanMs) / refilled) };
}
