import { fullUntilOver } from './rule-state.js';

/**
 * A sliding log's window read from what is left, as the key's own requests age, where a limit is stated but the resets
 * are too coarse to show the window (whole seconds against a window of 2 s). A server counting each request from its
 * arrival for a window (a sliding log), or from the start of the window it arrived in (fixed windows), counts a suffix
 * of the key's requests: those that arrived after a cut. Each answer stating what is left bounds that cut:
 * - still counted: it counts `limit - remaining - 1` others; of the key's requests that can have reached it before this
 *   one (those in flight counted too), the latest that many were answered by `before`, so the oldest it counts arrived
 *   by then, and the cut lies before it. The window is longer than from then to this request's send (`lo`);
 * - forgotten: of the requests answered before this one was sent (they reached the server first, and were counted, as
 *   their answers stated a quota), all but those it still counts are forgotten: the cut lies after the `m`th sent of
 *   them (`after`), and a sliding log's window is at most from that send to this answer (`hi`).
 * Fixed windows cut at their starts, all at once: a cut seen to move with the requests (`moving`, see
 * `compareWithEarlier`) shows a sliding log. Requests in flight together blur which the server counted first; answers
 * to requests sent one at a time show it. A bucket forgets at its own pace, whatever the requests' age: it may look like
 * a sliding log of a shorter window where the key keeps pace with its refill, so no window is read until the bounds on
 * a bucket's refill cross (`refillLo`, `refillHi`). The key's requests are taken to be all the server counts: a key
 * others spend shows where the server counts more than the key ever sent, or bounds cross (`refuted`); where it does
 * not, a window read wrong meets a 429, and the learner follows the quota again.
 */

/** An answer the reading keeps: when its request left and its answer came; `counted` if it stated a quota (not a 429). */
interface Aged {
  sentAt: number;
  at: number;
  counted: boolean;
  /** What the server counted as it answered, this request among them (counted answers only). */
  count: number;
}

/** Where one answer put the cut: after `after`, before `before` (either unbounded). */
interface Cut {
  after: number;
  before: number;
}

export interface AgingReading {
  limit: number;
  /**
   * The latest answers, in the order they came, and when the latest of those dropped came (or, until one is, the first
   * read: the answers before it were not).
   */
  answers: Aged[];
  droppedUpTo: number;
  /** Answers of the key before the reading began, and read since. */
  unseen: number;
  seen: number;
  firstAt: number;
  /**
   * The window is longer than `lo`; a sliding log's is at most `hi`. A bucket's (the time it takes to refill its limit)
   * would be over `refillLo` and at most `refillHi`: bounds that cross show no bucket.
   */
  lo: number;
  hi: number;
  refillLo: number;
  refillHi: number;
  /** The latest cuts bounded on both sides, to find two that must differ. */
  cuts: Cut[];
  moving: boolean;
  refuted: boolean;
}

/**
 * Answers kept: what is left can show no more of them (the limit), and never more than this (a key's reading holds at
 * most 256 answers and 64 cuts, a few kilobytes; one refuted holds none).
 */
const MOST_KEPT = 256;
/** Cuts kept to compare each new one with. */
const CUTS_KEPT = 64;
/**
 * A window read holds once the answers read span REACH of it, it is ROUND_TRIPS round trips long at least, and the
 * bounds lie within SPREAD of each other. A bucket refilling after a burst looks for a moment like a sliding log: it
 * forgets a request as soon as one token is back, which puts `hi` at a token's time plus a round trip, and the requests
 * of the burst it still counts as the key goes on push `lo` past `hi` a round trip later; by then the answers span two
 * round trips less than REACH times `hi`.
 */
const REACH = 3;
const ROUND_TRIPS = 2;
const SPREAD = 1.5;

export const startAging = (limit: number, unseen: number, at: number): AgingReading => ({
  limit,
  answers: [],
  droppedUpTo: at,
  unseen,
  seen: 0,
  firstAt: at,
  lo: 0,
  hi: Number.POSITIVE_INFINITY,
  refillLo: 0,
  refillHi: Number.POSITIVE_INFINITY,
  cuts: [],
  moving: false,
  refuted: false,
});

/** The `k`th smallest of `values` (1-based). */
const kthSmallest = (values: number[], k: number) => values.sort((a, b) => a - b)[k - 1] as number;

/**
 * Reads one answer of the key: `remaining` where it stated a quota and was taken (`refused`: a 429, or no answer at
 * all, which the server may have counted all the same), `othersInFlight` the key's other requests on their way as it came.
 */
export function readAging(
  reading: AgingReading,
  answer: { sentAt: number; at: number; remaining?: number | undefined; refused: boolean },
  othersInFlight: number,
) {
  if (reading.refuted) return;
  const counted = !answer.refused && answer.remaining !== undefined;
  const aged = { sentAt: answer.sentAt, at: answer.at, counted, count: reading.limit - (answer.remaining ?? 0) };
  if (counted) {
    cutAt(reading, answer.sentAt, answer.at, aged.count - 1, othersInFlight);
    if (reading.refuted) return;
    // Once a cut moved and a bucket's bounds crossed, no comparison can show more.
    if (!(reading.moving && reading.refillLo > reading.refillHi)) compareWithEarlier(reading, aged, othersInFlight);
  }
  const { answers } = reading;
  let i = answers.length;
  while (i > 0 && (answers[i - 1] as Aged).at > answer.at) i--;
  answers.splice(i, 0, aged);
  const keep = Math.min(MOST_KEPT, reading.limit);
  if (answers.length > keep)
    reading.droppedUpTo = Math.max(reading.droppedUpTo, ...answers.splice(0, answers.length - keep).map((a) => a.at));
  reading.seen++;
}

/** No sliding log of the key's own requests: nothing more is read, and nothing kept. */
export function refute(reading: AgingReading) {
  reading.refuted = true;
  reading.answers = [];
  reading.cuts = [];
}

function cutAt(reading: AgingReading, sentAt: number, at: number, others: number, othersInFlight: number) {
  const { answers } = reading;
  // More counted than the key ever sent: others spend the quota, and nothing here is the key's own.
  if (others - othersInFlight > reading.seen + reading.unseen) return refute(reading);
  let before = Number.POSITIVE_INFINITY;
  const answeredOthers = others - othersInFlight;
  if (others > 0 && answeredOthers > 0 && answeredOthers <= answers.length) {
    before = (answers[answers.length - answeredOthers] as Aged).at;
    reading.lo = Math.max(reading.lo, sentAt - before);
  }
  let after = Number.NEGATIVE_INFINITY;
  const arrived = answers.filter((a) => a.counted && a.at <= sentAt).map((a) => a.sentAt);
  const forgotten = arrived.length - Math.max(0, others);
  if (forgotten >= 1) {
    after = kthSmallest(arrived, forgotten);
    reading.hi = Math.min(reading.hi, at - after);
  }
  if (reading.lo > reading.hi) return refute(reading);
  if (after === Number.NEGATIVE_INFINITY || before === Number.POSITIVE_INFINITY) return;
  const cut = { after, before };
  reading.moving ||= reading.cuts.some((other) => mustDiffer(cut, other, reading.lo));
  reading.cuts.push(cut);
  if (reading.cuts.length > CUTS_KEPT) reading.cuts.shift();
}

/** Earlier answers a new one is compared with (see `compareWithEarlier`). */
const COMPARED = 32;

/**
 * Compares a new answer with earlier ones (the latest COMPARED counted, answered before it was sent). Whether it forgot
 * a request an earlier answer counted while it still counts one that reached the server before that answer's: fixed
 * windows forget all they counted at once, whatever their length (`moving`). It forgot one where it counts fewer than
 * the earlier one did plus those sure to have come between (sent after that answer, answered before this send); it
 * counts one from before where it counts more than all that may have come between (answered after the earlier send, or
 * still on their way), itself included. And how fast a bucket would have refilled between the two (`refillHi`).
 */
function compareWithEarlier(reading: AgingReading, later: Aged, othersInFlight: number) {
  const { answers, droppedUpTo, limit } = reading;
  let compared = 0;
  for (let i = answers.length - 1; i >= 0 && compared < COMPARED; i--) {
    const earlier = answers[i] as Aged;
    // An answer dropped since the earlier request left may have come between.
    if (earlier.sentAt < droppedUpTo) break;
    if (!earlier.counted || earlier.at >= later.sentAt) continue;
    compared++;
    let cameBetween = 1;
    let mayHaveComeBetween = 1 + othersInFlight;
    for (const other of answers) {
      if (other === earlier) continue;
      if (other.counted && other.sentAt >= earlier.at && other.at <= later.sentAt) cameBetween++;
      if (other.at > earlier.sentAt) mayHaveComeBetween++;
    }
    const countsOlder = later.count > mayHaveComeBetween;
    if (later.count < earlier.count + cameBetween && countsOlder) reading.moving = true;
    // A bucket stating whole tokens left, refilled a token at a time or steadily, refilled at least `refilled` between
    // the two arrivals (one less for the whole tokens stated, one less for a token at a time), which lie within the
    // earlier send and the later answer: its window (`limit` tokens' time) is at most so many times as long.
    const refilled = earlier.count + cameBetween - later.count - 2;
    if (refilled > 0) reading.refillHi = Math.min(reading.refillHi, (limit * (later.at - earlier.sentAt)) / refilled);
    // Counting one from before, it was never full of tokens in between (none lost): it refilled fewer than this
    // between the arrivals, which lie at least from the earlier answer to the later send apart.
    const refilledAtMost = earlier.count + mayHaveComeBetween - later.count + 2;
    if (countsOlder && later.sentAt > earlier.at)
      reading.refillLo = Math.max(reading.refillLo, (limit * (later.sentAt - earlier.at)) / refilledAtMost);
  }
}

/** Two cuts that cannot be the same, closer than `lo`: no fixed window of more than `lo` cuts at both. */
const mustDiffer = (a: Cut, b: Cut, lo: number) => {
  const [first, second] = a.before <= b.after ? [a, b] : b.before <= a.after ? [b, a] : [];
  return first !== undefined && second !== undefined && second.before - first.after <= lo;
};

/**
 * Whether a reading that has not seen a cut move may look for one by the key sending one request at a time: a request
 * was seen forgotten (`hi` is known), nothing crossed, and one at a time can still send about the limit in that window.
 */
export const worthSendingAlone = (reading: AgingReading) =>
  !reading.refuted &&
  !reading.moving &&
  reading.hi < Number.POSITIVE_INFINITY &&
  reading.limit * meanRoundTrip(reading) <= SPREAD * reading.hi;

const meanRoundTrip = ({ answers }: AgingReading) => answers.reduce((sum, a) => sum + a.at - a.sentAt, 0) / Math.max(1, answers.length);

/** Whether the bounds agree on a window, close enough to hold (see SPREAD): all a sliding log's reading needs but a cut moving. */
export const boundsAgree = ({ lo, hi, refuted }: AgingReading) => !refuted && hi < Number.POSITIVE_INFINITY && lo > 0 && hi <= SPREAD * lo;

/** The window a sliding log was read to have, once it holds (see REACH, SPREAD); undefined until then. */
export function agedWindow(reading: AgingReading, now: number): number | undefined {
  if (!reading.moving || !boundsAgree(reading) || now - reading.firstAt < REACH * reading.hi) return undefined;
  // A bucket can look like a sliding log of a shorter window where the key's requests keep pace with its refill: its
  // bounds must have crossed (a bucket is better followed by its quota, which it states at every token).
  if (reading.hi < ROUND_TRIPS * longestRoundTrip(reading) || reading.refillLo <= reading.refillHi) return undefined;
  return Math.ceil(reading.hi);
}

const longestRoundTrip = ({ answers }: AgingReading) => Math.max(0, ...answers.map((a) => a.at - a.sentAt));

/**
 * Where a sliding log of the limit per `windowMs` read now starts (see `fullUntilOver`): from the key's own requests it
 * may still count, dated by their answers, and those in flight, dated the longest round trip kept on.
 */
export function agedFullUntil(reading: AgingReading, windowMs: number, now: number, othersInFlight: number) {
  const countedAt = reading.answers.filter((a) => a.counted).map((a) => a.at);
  const inFlightAt = now + longestRoundTrip(reading);
  for (let i = 0; i < othersInFlight; i++) countedAt.push(inFlightAt);
  return fullUntilOver(countedAt, { limit: reading.limit, windowMs }, now);
}
