import type { Limit } from './learn-search.js';

/** A request of the key the server answered: when it left, when its answer came, and what it said was left. */
export interface Answered {
  sentAt: number;
  at: number;
  remaining?: number | undefined;
}

/** Answers kept to check documented rules against, per limit of the largest documented rule, and never more than this. */
const KEPT_PER_LIMIT = 4;
const MOST_KEPT = 4096;

/**
 * The key's latest answers, oldest first, while it holds documented rules: what a server counting by those rules may
 * still count. KEPT_PER_LIMIT times `most`, the largest documented limit (capped at MOST_KEPT): a server counting by the
 * rules takes at most `most` a window, and those answered within a window of a request's send may have come over two
 * (limits of 4, `most` kept: a request the server still counted was dropped, its reset seemed too soon by a second, and
 * the request sent at it was refused).
 */
export function keepAnswered(kept: Answered[], answer: Answered, most: number) {
  kept.push({ sentAt: answer.sentAt, at: answer.at, remaining: answer.remaining });
  const keep = Math.min(MOST_KEPT, KEPT_PER_LIMIT * most);
  if (kept.length > keep) kept.splice(0, kept.length - keep);
}

/**
 * Whether an answer shows more left than every documented rule can: a server counting by a rule of `limit` per
 * `windowMs` still counts each of the key's requests that reached it within the window before this one, surely those
 * answered before this one was sent and sent no sooner than a window before its answer, and this one: `limit - 1` less
 * those at most are left. More left: the server forgot them sooner (its window is shorter, as the reference API's
 * minute compressed to 6 s), or allows more. Requests others sent only leave less.
 */
export function leftMoreThanDocumented(kept: readonly Answered[], answer: Answered & { remaining: number }, rules: readonly Limit[]) {
  return rules.every(({ limit, windowMs }) => {
    // What is left says the server counts this many others at most.
    const othersAtMost = limit - 1 - answer.remaining;
    if (othersAtMost < 0) return true;
    let counted = 0;
    for (const { sentAt, at } of kept) if (at < answer.sentAt && sentAt > answer.at - windowMs && ++counted > othersAtMost) return true;
    return false;
  });
}

/** A reset in whole seconds lies up to a second after the instant it stands for. */
const RESET_RESOLUTION_MS = 1000;

/**
 * Whether an answer states a reset well before a documented rule would free the key's oldest request it may still
 * count (by a second and an eighth of the window): the server forgets sooner than the rule, and the key would wait on
 * the rule long after the server freed its quota (a minute, where the reference API's minute is compressed to 6 s). A
 * server counting by the rule frees a request a window after it arrived, no sooner than a window after it was sent; it
 * may still count each answered after this request was sent less a window. A fixed window whose end is near, or a
 * bucket, frees sooner.
 */
export function freedSoonerThanDocumented(kept: readonly Answered[], answer: Answered & { resetAt?: number }, rules: readonly Limit[]) {
  const resetAt = answer.resetAt;
  if (resetAt === undefined) return false;
  return rules.every(({ windowMs }) => {
    let oldestSent = Number.POSITIVE_INFINITY;
    for (const { sentAt, at } of kept) if (at > answer.sentAt - windowMs) oldestSent = Math.min(oldestSent, sentAt);
    return Number.isFinite(oldestSent) && oldestSent + windowMs - resetAt > Math.max(RESET_RESOLUTION_MS, windowMs / 8);
  });
}

/**
 * Whether a documented rule holds the key while the answer states requests left: the rule holds as many of the key's
 * requests answered within its window as its limit. A server counting by it can still have some left only where
 * requests it counted from their arrival came more than a window before (the rule dates them by their answers); one
 * that forgets sooner (a bucket refilling while the key sent, the reference API's minute compressed) has more. Nothing
 * else of the key on its way, one request may go alone: the server said some were left (the least said by this answer
 * and those that came since this request left, which may have reached it after this one), and no server counts one
 * back while nothing is sent.
 */
export function heldWithSomeLeft(kept: readonly Answered[], answer: Answered & { remaining: number }, rules: readonly Limit[]) {
  // What is left now: an answer that came after this request left may be to one that reached the server after it.
  let left = answer.remaining;
  for (const { at, remaining } of kept) if (at > answer.sentAt) left = Math.min(left, remaining ?? 0);
  if (left < 1) return false;
  return rules.some(({ limit, windowMs }) => kept.filter(({ at }) => at > answer.at - windowMs).length >= limit);
}
