import type { AnnouncedQuota } from '@sluice/core/http';
import {
  type AgingReading,
  agedFullUntil,
  agedWindow,
  boundsAgree,
  readAging,
  refute,
  startAging,
  worthSendingAlone,
} from './aging-reading.js';
import { type Answered, freedSoonerThanDocumented, heldWithSomeLeft, keepAnswered, leftMoreThanDocumented } from './documented-check.js';
import {
  halfwayBetween,
  type Limit,
  SEARCH_STEP,
  searchBack,
  searchFurther,
  startSearch,
  type TooShort,
  type WindowSearch,
} from './learn-search.js';
import { worthSearching } from './quota-refill.js';
import { remember, touch } from './recent.js';
import { noteAfterPause, noteDuringPause, type RefillReading, readingCap, readsFrom, startReading } from './refill-reading.js';
import { fullUntilOver, type RuleStart, type StoreRule, shortestWindow } from './rule-state.js';
import type { Answer, SharedPolicy } from './store.js';
import { type Sustained, savesUp, sustainedRule } from './sustained-rate.js';

/** Where a key's learnt policy comes from. */
export type PolicySource = 'start' | 'documented' | 'quota' | 'announced' | 'limit-and-reset' | 'sliding-log' | 'refusals' | 'named';

/** Where the server names the quota each answer was counted against: which quota each endpoint goes under. */
export interface NamedQuotas {
  /** The quota of endpoints not listed: the one most endpoints of the key went under. */
  fallback: string;
  /** Endpoints that go under another quota than `fallback`. */
  endpoints: Record<string, string>;
}

/** What `rules: 'auto'` holds a key to now. */
export interface LearntPolicy {
  /**
   * `'start'`: nothing learnt yet. `'documented'`: the rules given as `startFrom`, which no answer contradicted.
   * `'quota'`: the server states what is left and when it resets, followed as it goes; no rule is known yet.
   * `'announced'`: `RateLimit-Policy` stated each limit and window. `'limit-and-reset'`: a limit was stated, its window
   * read from how the reset moved. `'sliding-log'`: a limit was stated, and what was left as the key's own requests aged
   * showed a sliding log and its window (`aging-reading.ts`). `'refusals'`: no quota stated; 429s bounded it. `'named'`:
   * the server names the quota each answer was counted against (`quotas`); each is learnt apart, as the key `<key>#<name>`.
   */
  source: PolicySource;
  rules: Limit[];
  /**
   * Requests in flight per key: while nothing is learnt, one at first, growing while answers come without a 429; with
   * `'refusals'`, one fewer than the start had grown to past START_IN_FLIGHT when the server first refused.
   */
  inFlight?: number;
  /** Requests in flight at most, per endpoint, where the server refused more (a 429 stating the quota had some left). */
  concurrency?: Record<string, number>;
  /** With `'named'`: the quota each endpoint goes under. */
  quotas?: NamedQuotas;
}

/**
 * How an answered request went: to which endpoint, how many of the key's went there with it (itself included), whether
 * the key's rules held it back, and how many others of the key were still on their way when it was answered.
 */
export interface SentWith {
  endpoint?: string | undefined;
  inFlight?: number | undefined;
  waitedForKey?: boolean | undefined;
  othersInFlight?: number | undefined;
}

/** A change of a key's policy, to announce, and what showed it. */
export interface Learnt {
  policy: LearntPolicy;
  evidence: string;
  /** A cap on requests in flight learnt for this endpoint (the rate policy is unchanged). */
  endpoint?: string;
}

/**
 * While nothing is learnt, a key sends this many requests one at a time (a server that takes one at a time refuses the
 * second alone), then keeps this many in flight, one more per START_GROWTH_ANSWERS answers without a 429: a server that
 * allows more is pushed until it refuses, and the first 429 refuses at most two plus a 64th of the requests answered
 * before it (two for a limit of up to 64 met from empty, one for a limit of one).
 */
export const START_IN_FLIGHT = 2;
export const START_GROWTH_ANSWERS = 64;
/** Answers in a row that must announce a looser policy before the limiter follows it (a tighter one is followed at once). */
export const LOOSEN_AFTER = 3;
/**
 * A 429 stating no wait, before anything is learnt, pauses the key as long as the requests before it took, at least a
 * second, and each 429 in a row after it UNSTATED_GROWTH times longer, up to a day: a window of a minute costs two or
 * three probes (each a 429), a window of a day seven or eight, where doubling cost six and seventeen.
 */
const FIRST_UNSTATED_DELAY_MS = 1000;
const UNSTATED_GROWTH = 4;
const MAX_UNSTATED_DELAY_MS = 86_400_000;
/**
 * A rule learnt from 429s alone whose search is over is tried a step looser again (a plan upgraded, a server less busy)
 * once it held back this many times its limit in requests, over at least SEARCH_AGAIN_MS, without a 429. Each try
 * refused doubles both, up to a day; a try that held brings them back to the first. Against a server that never
 * changes, a try (one to three 429s) after 5, 15, 35, 75 minutes and so on of requests held back, then one a day.
 */
const SEARCH_AGAIN_LIMITS = 8;
const SEARCH_AGAIN_MS = 300_000;
const MAX_SEARCH_AGAIN_MS = 86_400_000;
/** How many held back, and how long, start the first try again (and the next, after one that held). */
const FIRST_SEARCH_AGAIN: Readonly<{ limits: number; ms: number }> = { limits: SEARCH_AGAIN_LIMITS, ms: SEARCH_AGAIN_MS };
const longerWait = ({ limits, ms }: { limits: number; ms: number }) =>
  ms >= MAX_SEARCH_AGAIN_MS ? { limits, ms } : { limits: 2 * limits, ms: Math.min(MAX_SEARCH_AGAIN_MS, 2 * ms) };
/** After an estimate, requests sent one at a time before the ramp doubles (see `estimate`). */
const ESTIMATE_ALONE = 2;
/** A rate measured over many windows is held over a window at least this many round trips long (see `estimate`). */
const SPREAD_ROUND_TRIPS = 8;
/** How many windows (as read so far, at most) a key sends one request at a time to see a sliding log free them one by one. */
const ALONE_FOR = 3;
/** A sliding log read again, at least this much shorter, is held instead (a shorter one read each answer would churn). */
const SHORTER_BY = 0.95;
/** Keys whose learning is kept; past it the least recently used is forgotten. */
const MAX_KEYS = 10_000;
/** Endpoints per key whose learnt cap is kept (paths with ids in them would pile up); past it the oldest is forgotten. */
const MAX_CAPS = 100;

interface Quota {
  remaining: number;
  resetAt: number;
  sentAt: number;
}

interface KeyLearning {
  policy: LearntPolicy;
  /** What the store is handed: the same array while the policy holds. */
  rules: readonly StoreRule[];
  /** The rules of a learnt policy, before a cap on requests in flight is added to them. */
  policyRules: readonly StoreRule[];
  answeredThisRound: number;
  /** Answers, 429s among them. */
  heard: number;
  /** Answers without a 429. */
  answered: number;
  /** A limit stated without its window; the quota of the latest request answered, and the lowest (the latest of those). */
  statedLimit?: number;
  latest?: Quota;
  emptiest?: Quota;
  /** Resets in whole seconds too coarse for the window: the quota stays followed, with the store's refill search (see `limitAndReset`). */
  coarse?: boolean;
  /**
   * Since the last 429's pause: requests sent before it belong to the one before. The first send answered, the last
   * answer, the answers, and of those, the ones that had waited for the key's rules (the key was kept busy).
   */
  episodeFloor: number;
  episodeStart: number;
  episodeEnd: number;
  accepted: number;
  acceptedWaiting: number;
  /** When the request the last 429 refused was sent: the server had nothing left by then. */
  lastRefusedSentAt?: number;
  refusalsInRow: number;
  /** The first pause of a row of 429s stating no wait; each next one is UNSTATED_GROWTH times longer. */
  unstatedBase: number;
  /** A 429 that stated no wait, ending an episode: the first answer after its pause finishes the estimate. */
  unstated?: { accepted: number; firstSent: number; lastAnswered: number; answeredIn: number; roundTripMs: number; tooShort?: number };
  search?: WindowSearch;
  /**
   * The last estimate from an episode a 429 ended (its first send, the rules it gave, where its rule started), while
   * nothing changed them since.
   */
  estimated?: { firstSent: number; rules: readonly StoreRule[]; start: RuleStart };
  /** A looser policy announced, and in how many answers in a row. */
  looser?: { signature: string; seen: number };
  /** The stamp of the fleet's policy (a shared store's) this one is, or was learnt after; 0: none. */
  stamp: number;
  /** Per endpoint, requests in flight at most, learnt from 429s that refused requests in flight. */
  caps?: Map<string, number>;
  /** Requests in flight at most: one fewer than the start allowed when it had grown past START_IN_FLIGHT and met a 429. */
  pushedInFlight?: number;
  /** What the answers to the pushed start's last requests showed of how steadily the server frees (see `RefillReading`). */
  refill?: RefillReading;
  /** Requests the server took before its first 429. One: it takes one at a time, never two together. */
  startTook?: number;
  /**
   * A 429 came to a window the search found held: what held was luck (a fixed window's phase), not the server's rate;
   * the window that search started from.
   */
  heldByLuck?: { searchedFrom: number; refused: number };
  /**
   * Requests in flight at most after an estimate or a search step, doubling as they are answered (see `rampOn`); the
   * first `alone` of them (one unless set) go one at a time; the ramp ends where it would allow `upTo` (the rule's limit
   * unless set).
   */
  ramp?: { inFlight: number; answered: number; since: number; alone?: number; upTo?: number | undefined };
  /** Answers to requests the rule held back since its search ended, the first one's time, and how many and how long start it again. */
  heldBack: number;
  heldBackSince: number;
  searchAgain: Readonly<{ limits: number; ms: number }>;
  /** The policy is the fleet's, learnt by another process: that one searches again, not this one. */
  adopted?: boolean;
  /** The rule the first search started again began from: a 429 to a faster one found since brings it back. */
  beforeAgain?: Limit;
  /** While the key holds documented rules: its latest answers, to tell a server that forgot them sooner (`leftMoreThanDocumented`). */
  answeredLately?: Answered[];
  /** The documented rules, while the quota is followed to see whether they are too tight (`seeIfDocumentedTooTight`). */
  documentedBack?: DocumentedBack;
  /** While a stated limit's quota is followed (or a sliding log read from it is held): what its answers show as the key's requests age. */
  aging?: AgingReading;
  /** Since when the quota is followed one request at a time, for a reading whose cut has not been seen to move; or done. */
  alone?: number | 'done';
}

interface DocumentedBack {
  policy: LearntPolicy;
  rules: readonly StoreRule[];
  /**
   * When the quota began to be followed. `'reset'`: a reset well before the rules free the key; the first answer to a
   * request sent since decides. `'left'`: requests left where the rules hold the key; the answers to requests sent one at
   * a time since decide, `seen` of them so far stating more left than the rules allow.
   */
  since: number;
  why: 'reset' | 'left';
  seen: number;
}

/** The requests answered since a pause, which a 429 ended: how many, the first sent, the last answered; the 429. */
interface Episode {
  accepted: number;
  firstSent: number;
  lastAnswered: number;
  refusedAt: number;
  roundTripMs: number;
}

/**
 * When the server took a request again after an episode: at a probe's answer (`probe`), or at a stated wait's end. And
 * whether it freed the episode's requests together (a fixed window, or a sliding log replaying the episode), which
 * shows where a bucket refilled at the rate measured would have taken more sooner: a probe it refused, a longer wait.
 */
interface Freed {
  at: number;
  probe: boolean;
  together: boolean;
}

/** A learnt rule as the store takes it: no `jitterMs` (requests in flight count until answered), and where it starts. */
const learntRule = ({ limit, windowMs }: Limit, startsFrom: RuleStart): StoreRule => ({
  limit,
  windowMs,
  jitterMs: Number.POSITIVE_INFINITY,
  startsFrom,
});
/**
 * Where an estimate's rule starts. Freed together, the server counts the episode's requests until a window after the
 * last of them (and a probe's, a window after it): nothing goes until then, then as many again. Else the server is full
 * until `freed.at`, its requests a step apart over the window before (a probe's at `freed.at` itself, a step later).
 */
const startAfter = ({ accepted, lastAnswered }: Episode, freed: Freed, rule: Limit, together: boolean): RuleStart => {
  if (together) return freed.probe ? { counted: accepted, at: lastAnswered, newestAt: freed.at } : { counted: accepted, at: lastAnswered };
  return { fullUntil: freed.probe ? freed.at + rule.windowMs / rule.limit : freed.at };
};
const inFlightRule = (limit: number) => learntRule({ limit, windowMs: 1 }, { fromLog: true });
/** While a stated quota is followed, the store's budget bounds what goes: the rule only counts what is in flight. */
const FOLLOWING_QUOTA = learntRule({ limit: 2 ** 31, windowMs: 1 }, { fromLog: true, followsQuota: true });
const signatureOf = (rules: Limit[]) => rules.map((r) => `${r.limit}/${r.windowMs}`).join(',');
const describe = (rules: Limit[]) => rules.map((r) => `${r.limit} per ${r.windowMs} ms`).join(' and ');

/** The most requests `rules` let go in any `spanMs`, as far as a sliding log of each allows. */
const allowedIn = (rules: Limit[], spanMs: number) => Math.min(...rules.map((r) => r.limit * Math.ceil(spanMs / r.windowMs)));

/**
 * Of a server that takes one at a time, a window refused since the search found one held by luck (a fixed window's
 * phase): a quarter longer for the first QUARTERS_BACK of those 429s, then halfway back to the window the search started
 * from (luck may have carried several of its steps: a quarter at a time back would cost a 429 each). Counts the 429 on
 * `luck`.
 */
const QUARTERS_BACK = 2;
const backFromLuck = (refused: Limit, luck: { searchedFrom: number; refused: number }): Limit => {
  const quarter = Math.ceil(refused.windowMs * (1 + 2 * SEARCH_STEP));
  const halfway = halfwayBetween(refused.windowMs, luck.searchedFrom);
  return { limit: 1, windowMs: ++luck.refused > QUARTERS_BACK ? Math.max(quarter, halfway) : quarter };
};

/** Whether `a` sends faster than `b` in the long run. */
const faster = (a: Limit, b: Limit) => a.limit * b.windowMs > b.limit * a.windowMs;

/** Whether `next` lets more go than `current` over some span. */
const looser = (next: Limit[], current: Limit[]) =>
  [...next, ...current].some(({ windowMs }) => allowedIn(next, windowMs) > allowedIn(current, windowMs));

/**
 * Learns each key's policy from the server's answers for `rules: 'auto'`: the quotas it announces, else a stated limit
 * whose window the resets show, else its 429s. Tightens at once, loosens on `LOOSEN_AFTER` answers in a row. `fleet`:
 * the store shares what is learnt with other processes, which spend the same quotas.
 */
export function createLearner(documented?: readonly StoreRule[], { fleet = false } = {}) {
  const keys = new Map<string, KeyLearning>();
  // Where each key starts: the documented rules (a log each, taking over what the key counted), else one request in flight.
  const documentedRules = documented?.map((rule): StoreRule => ({ ...rule, startsFrom: { fromLog: true } }));
  const documentedPolicy: LearntPolicy | undefined = documented && {
    source: 'documented',
    rules: documented.map(({ limit, windowMs }) => ({ limit, windowMs })),
  };

  // A key no answer taught anything yet.
  const fresh = (): KeyLearning => ({
    policy: documentedPolicy ?? { source: 'start', rules: [], inFlight: 1 },
    rules: documentedRules ?? [inFlightRule(1)],
    policyRules: documentedRules ?? [],
    answeredThisRound: 0,
    heard: 0,
    answered: 0,
    episodeFloor: Number.NEGATIVE_INFINITY,
    episodeStart: Number.POSITIVE_INFINITY,
    episodeEnd: Number.NEGATIVE_INFINITY,
    accepted: 0,
    acceptedWaiting: 0,
    refusalsInRow: 0,
    unstatedBase: FIRST_UNSTATED_DELAY_MS,
    stamp: 0,
    heldBack: 0,
    heldBackSince: 0,
    searchAgain: FIRST_SEARCH_AGAIN,
  });

  const get = (key: string): KeyLearning => touch(keys, key) ?? remember(keys, key, fresh(), MAX_KEYS);

  const adopt = (k: KeyLearning, source: PolicySource, rules: StoreRule[], evidence: string): Learnt => {
    k.policy = { source, rules: rules.map(({ limit, windowMs }) => ({ limit, windowMs })) };
    k.adopted = false;
    k.answeredLately = undefined;
    if (source !== 'sliding-log') k.aging = undefined;
    k.heldBack = 0;
    // A rate learnt from requests spread over many windows lets as many go at once after a pause: the requests in flight
    // the start had when the server refused bound that burst.
    if (source === 'refusals' && k.pushedInFlight !== undefined) k.policy.inFlight = inFlightAllowed(k);
    if (source !== 'refusals') k.ramp = undefined;
    k.policyRules = rules;
    k.rules = withInFlight(k, rules);
    k.looser = undefined;
    return { policy: k.policy, evidence };
  };

  // Requests in flight a pushed start allows: its own count, or fewer where the server was seen to free steadily.
  const inFlightAllowed = (k: KeyLearning) => {
    const read = k.refill && readingCap(k.refill);
    return read === undefined || k.pushedInFlight === undefined ? k.pushedInFlight : Math.min(read, k.pushedInFlight);
  };

  // The requests in flight allowed changed: the policy holds that many (a change announced where `evidence` says why).
  const holdInFlight = (k: KeyLearning, evidence?: string): Learnt | undefined => {
    const inFlight = inFlightAllowed(k);
    if (k.policy.source !== 'refusals' || inFlight === undefined || inFlight === k.policy.inFlight) return undefined;
    k.policy = { ...k.policy, inFlight };
    k.rules = withInFlight(k, k.policyRules);
    return evidence === undefined ? undefined : { policy: k.policy, evidence: `${evidence}: at most ${inFlight} in flight` };
  };

  // The rules with the requests in flight the key may have now: the pushed start's, or fewer while it ramps up.
  const withInFlight = (k: KeyLearning, rules: readonly StoreRule[]) => {
    const inFlight = Math.min(k.policy.inFlight ?? Number.POSITIVE_INFINITY, k.ramp?.inFlight ?? Number.POSITIVE_INFINITY);
    return inFlight === Number.POSITIVE_INFINITY ? rules : [...rules, inFlightRule(inFlight)];
  };

  // After an estimate, and a shorter window tried, the key sends one request (after an estimate, two one at a time),
  // then twice as many in flight once as many are answered without a 429, up to the rule's limit: an estimate too fast
  // (a bucket's burst taken for its rate) is refused with a few requests in flight, not all the rule lets go at once.
  const rampOn = (k: KeyLearning, answer: Answer) => {
    const { ramp } = k;
    const rule = k.policy.rules[0];
    if (!ramp || !rule || answer.sentAt < ramp.since) return;
    if (++ramp.answered < (ramp.inFlight === 1 ? (ramp.alone ?? 1) : ramp.inFlight)) return;
    const end = Math.min(rule.limit, ramp.upTo ?? Number.POSITIVE_INFINITY);
    k.ramp = ramp.inFlight * 2 < end ? { ...ramp, inFlight: ramp.inFlight * 2, answered: 0 } : undefined;
    k.rules = withInFlight(k, k.policyRules);
  };

  // The server states its quota: the store follows it (`quotaTrusted`); the rule only counts what is in flight.
  const followQuota = (k: KeyLearning) => {
    k.policy = { source: 'quota', rules: [] };
    k.answeredLately = undefined;
    k.documentedBack = undefined;
    k.rules = [FOLLOWING_QUOTA];
    k.search = undefined;
  };

  const restart = (k: KeyLearning) => {
    k.policy = { source: 'start', rules: [], inFlight: 1 };
    k.rules = [inFlightRule(1)];
    k.answeredThisRound = 0;
    k.search = undefined;
  };

  // Requests the start allows in flight, where it has grown past START_IN_FLIGHT (undefined: it has not, or it is over).
  const grownStart = (k: KeyLearning) => {
    const inFlight = k.policy.source === 'start' ? (k.policy.inFlight ?? 1) : 0;
    return inFlight > START_IN_FLIGHT ? inFlight : undefined;
  };

  // Nothing learnt yet: the first START_IN_FLIGHT requests one at a time (a server that takes one at a time refuses the
  // second alone), then START_IN_FLIGHT in flight, one more per START_GROWTH_ANSWERS answers without a 429.
  const slowStart = (k: KeyLearning) => {
    const cap = k.policy.inFlight ?? 1;
    if (++k.answeredThisRound < (cap < START_IN_FLIGHT ? START_IN_FLIGHT : START_GROWTH_ANSWERS)) return;
    k.answeredThisRound = 0;
    k.policy = { source: 'start', rules: [], inFlight: cap + 1 };
    k.rules = [inFlightRule(cap + 1)];
  };

  // Counts one more answer in a row announcing the looser policy `signature`: whether there are LOOSEN_AFTER now.
  const looserInARow = (k: KeyLearning, signature: string) => {
    k.looser = k.looser?.signature === signature ? { signature, seen: k.looser.seen + 1 } : { signature, seen: 1 };
    return k.looser.seen >= LOOSEN_AFTER;
  };

  // A tighter policy (or the first) at once; a looser one once LOOSEN_AFTER answers in a row announce it.
  const follow = (k: KeyLearning, rules: StoreRule[], evidence: string): Learnt | undefined => {
    const signature = signatureOf(rules);
    if (k.policy.source === 'announced' && signatureOf(k.policy.rules) === signature) return void (k.looser = undefined);
    if (k.policy.source !== 'start' && looser(rules, k.policy.rules)) {
      if (!looserInARow(k, signature)) return undefined;
      evidence += `, in ${LOOSEN_AFTER} answers in a row`;
    }
    k.search = undefined;
    if (k.policy.source === 'documented' && signatureOf(k.policy.rules) === signature) evidence += ': the documented rules, confirmed';
    return adopt(k, 'announced', rules, evidence);
  };

  // `RateLimit-Policy` states each quota and its window: each becomes a rule, holding what the server counted.
  const announced = (k: KeyLearning, quotas: AnnouncedQuota[], answer: Answer) => {
    const rules = [...quotas]
      .sort((a, b) => a.windowMs - b.windowMs || a.limit - b.limit)
      .map(({ limit, windowMs, remaining: left }): StoreRule => {
        const named = answer.limit === limit || quotas.length === 1;
        const remaining = left ?? (named ? answer.remaining : undefined);
        const counted = remaining !== undefined ? limit - remaining : k.answered;
        return learntRule({ limit, windowMs }, { fromLog: true, counted, at: answer.at });
      });
    const by = quotas.some((q) => q.period)
      ? 'X-RateLimit-Limit-<period> headers'
      : quotas.some((q) => q.bucket)
        ? "a token bucket's headers (its burst per the time it takes to refill it)"
        : quotas.some((q) => q.hubspot)
          ? 'X-HubSpot-RateLimit-* headers'
          : quotas.some((q) => q.inLimitHeader)
            ? 'the limit header (its policies listed after it)'
            : 'RateLimit-Policy';
    return follow(k, rules, `${by} announced ${describe(rules)}`);
  };

  // A limit without its window. Until the window is known, the store keeps to each answer's quota (`quotaTrusted`):
  // safe whatever the server counts with. The window shows when a quota partly spent is all back (this request counted
  // alone) for a request sent after that quota's reset: a fixed window's reset steps by at least its length; a sliding
  // log's reset lies at least its length after this request's send (it counts this one alone); a token bucket refilled
  // at least `limit - 1 - remaining` between the two requests. A quota freed a few at a time says nothing safe of the
  // window (a sliding log and a bucket look alike in whole seconds): the store keeps following the quota. No search
  // follows either: a window too short sends before any answer can show it. Resets in whole seconds put the window read
  // from them up to a second long: where that second is worth a request kept back (`worthSearching`), the quota stays
  // followed and the store's refill search finds how soon it is back. No window is read from such resets: early requests
  // refused before some resets do not show a window a whole number of seconds long, and fixed windows of 11 per 4.693 s
  // whose resets stepped by 4 s, read as 4 s, sent five requests over the limit. Followed, their quota cost nothing:
  // 1.01x the least time for fixed windows of 20 per 2 s, where the window read from resets took 1.05x.
  const limitAndReset = (k: KeyLearning, answer: Answer & Quota & { limit: number }): Learnt | undefined => {
    const { limit, remaining, resetAt, sentAt } = answer;
    const current = k.policy.source === 'limit-and-reset' || k.policy.source === 'sliding-log' ? k.policy.rules[0] : undefined;
    if (k.statedLimit !== limit) {
      if (current && limit > current.limit) {
        // A higher limit: once consistent, as any loosening, its window is learnt anew.
        if (!looserInARow(k, String(limit))) return undefined;
        followQuota(k);
      }
      k.statedLimit = limit;
      k.latest = k.emptiest = undefined;
      k.coarse = false;
      // A lower limit: at once, over the same window; the log keeps its entries.
      if (current && limit < current.limit) {
        const rule = learntRule({ limit, windowMs: current.windowMs }, { fromLog: true });
        return adopt(k, 'limit-and-reset', [rule], `the stated limit fell to ${limit}`);
      }
    }
    if (k.policy.source !== 'quota') return undefined;
    const { latest, emptiest } = k;
    const quota = { remaining, resetAt, sentAt };
    // A reset already past when answered (read as now) says nothing of where the window stepped.
    if ((!latest || sentAt >= latest.sentAt) && resetAt > answer.at) k.latest = quota;
    if (!emptiest || remaining < emptiest.remaining || (remaining === emptiest.remaining && sentAt >= emptiest.sentAt)) k.emptiest = quota;
    if (!latest || !emptiest || emptiest.remaining >= limit - 1 || sentAt < latest.resetAt || remaining !== limit - 1) return undefined;
    const refilled = Math.ceil(((answer.at - emptiest.sentAt) * limit) / (limit - 1 - emptiest.remaining));
    // Resets in whole seconds, rounded up, step up to a second short of the window (9 s for 9.21 s).
    const rounded = answer.resetInWholeSeconds ? 1000 : 0;
    const windowMs = Math.max(resetAt - latest.resetAt + rounded, resetAt - sentAt, refilled);
    const tightest = Math.min(resetAt - latest.resetAt, resetAt - sentAt, refilled);
    if (answer.resetInWholeSeconds && worthSearching(limit, tightest)) k.coarse = true;
    if (k.coarse) return undefined;
    const rule = learntRule({ limit, windowMs }, { counted: 1, at: answer.at });
    return adopt(k, 'limit-and-reset', [rule], `a limit of ${limit}, all of it back after a reset, the reset ${windowMs} ms on`);
  };

  // The documented rules against a stated quota. A stated limit below each documented one is followed at once, over
  // the longest documented window; more stated, or more left than the rules allow in a window, shows them too tight:
  // once LOOSEN_AFTER answers in a row say so, the key follows the quota and learns as if nothing was documented. A
  // quota they explain holds them (the store keeps to any quota spent by others, as with rules given).
  const checkDocumented = (k: KeyLearning, answer: Answer, remaining: number, othersInFlight: number): Learnt | undefined => {
    const rules = k.policy.rules;
    const most = Math.max(...rules.map((r) => r.limit));
    const least = Math.min(...rules.map((r) => r.limit));
    const longest = Math.max(...rules.map((r) => r.windowMs));
    if (answer.limit !== undefined && answer.limit < least) {
      const rule = learntRule({ limit: answer.limit, windowMs: longest }, { fromLog: true });
      return adopt(k, 'limit-and-reset', [rule], `a stated limit of ${answer.limit}, under the documented ${describe(rules)}`);
    }
    const stated = answer.limit ?? remaining + 1;
    const lately = (k.answeredLately ??= []);
    const forgot = leftMoreThanDocumented(lately, { ...answer, remaining }, rules);
    keepAnswered(lately, answer, most);
    if (!forgot && remaining === 0 && freedSoonerThanDocumented(lately, answer, rules)) {
      // The rules hold the key until long after this reset: no answer can contradict them before then. The quota is
      // followed, its first request alone at the reset, whose answer decides (`seeIfDocumentedTooTight`); the answers
      // kept go on if the rules come back.
      followQuotaToSee(k, lately, answer.at, 'reset');
      // Nothing goes before that reset, then one request alone: its answer decides.
      k.rules = [FOLLOWING_QUOTA, learntRule({ limit: 1, windowMs: 1 }, { fullUntil: answer.resetAt as number })];
      const resetIn = Math.round(((answer.resetAt as number) - answer.at) / 1000);
      return {
        policy: k.policy,
        evidence: `none left, back ${resetIn} s on, well before the documented ${describe(rules)} free the key's oldest request: the quota is followed, to see`,
      };
    }
    if (!forgot && othersInFlight === 0 && heldWithSomeLeft(lately, { ...answer, remaining }, rules)) {
      // Nothing else on its way: the requests left can go, one at a time, and their answers show whether the server
      // forgot the key's requests sooner than the rules do (`seeIfLeftMoreThanDocumented`).
      followQuotaToSee(k, lately, answer.at, 'left');
      k.rules = [FOLLOWING_QUOTA, inFlightRule(1)];
      return {
        policy: k.policy,
        evidence: `${remaining} left, where the documented ${describe(rules)} hold the key: the quota is followed one request at a time, to see`,
      };
    }
    if (stated <= most && !forgot) return void (k.looser = undefined);
    if (!looserInARow(k, 'more than documented')) return undefined;
    followQuota(k);
    k.statedLimit = undefined;
    const what =
      stated <= most
        ? `${remaining} left, after requests of the key they would still count`
        : answer.limit === undefined
          ? `${remaining} left`
          : `a limit of ${answer.limit}`;
    return {
      policy: k.policy,
      evidence: `${LOOSEN_AFTER} answers in a row stated more than the documented ${describe(rules)} allow (${what}): the quota is followed as it goes`,
    };
  };

  // The key holds documented rules the answers say may be too tight: the quota is followed, to see; the answers kept go
  // on if the rules come back.
  const followQuotaToSee = (k: KeyLearning, lately: Answered[], at: number, why: DocumentedBack['why']) => {
    const back: DocumentedBack = { policy: k.policy, rules: k.policyRules, since: at, why, seen: 0 };
    followQuota(k);
    k.answeredLately = lately;
    k.documentedBack = back;
  };

  // While the quota is followed one request at a time to see whether documented rules are too tight (`'left'`): each
  // answer to a request sent since, all before it answered, shows exactly whether the server forgot the key's requests
  // sooner than the rules. LOOSEN_AFTER in a row that do: the quota is followed from now on. One that does not: the
  // documented rules hold again.
  const seeIfLeftMoreThanDocumented = (k: KeyLearning, back: DocumentedBack, answer: Answer, remaining: number | undefined) => {
    if (answer.sentAt < back.since) return undefined;
    const lately = (k.answeredLately ??= []);
    const rules = back.policy.rules;
    const forgot = remaining !== undefined && leftMoreThanDocumented(lately, { ...answer, remaining }, rules);
    keepAnswered(lately, answer, Math.max(...rules.map((r) => r.limit)));
    if (!forgot)
      return documentedAgain(
        k,
        back,
        answer.at,
        `${remaining ?? 'no quota'} left, as the documented ${describe(rules)} allow: they hold again`,
      );
    if (++back.seen < LOOSEN_AFTER) return undefined;
    followQuota(k);
    return {
      policy: k.policy,
      evidence: `${LOOSEN_AFTER} requests sent one at a time found more left than the documented ${describe(rules)} allow after the key's requests they would still count: the quota is followed as it goes`,
    };
  };

  // While the quota is followed to see whether documented rules are too tight (`documentedBack`): the request sent alone
  // at the reset decides. Taken: the server freed its quota sooner than the rules would, and it is followed from now on.
  // Refused (a reset stated too soon): the documented rules hold again (`refused`).
  const seeIfDocumentedTooTight = (
    k: KeyLearning,
    back: DocumentedBack,
    answer: Answer,
    remaining: number | undefined,
  ): Learnt | undefined => {
    if (answer.sentAt < back.since) return undefined;
    followQuota(k);
    const left = remaining === undefined ? '' : ` (${remaining} left)`;
    return {
      policy: k.policy,
      evidence: `a request taken at that reset${left}, where the documented ${describe(back.policy.rules)} would still hold the key: the quota is followed as it goes`,
    };
  };

  // A stated limit's quota followed: a sliding log read from what is left as the key's requests age (`aging-reading.ts`)
  // becomes the rule, and one read SHORTER_BY shorter since, the rule from then on; one the answers no longer fit, the
  // quota again.
  const slidingLog = (k: KeyLearning, at: number, othersInFlight: number): Learnt | undefined => {
    const { aging } = k;
    const source = k.policy.source;
    if (!aging || (source !== 'quota' && source !== 'sliding-log')) return undefined;
    if (aging.refuted) {
      if (source === 'quota') return sendAlone(k, aging, at);
      // In a fleet each process sees the others' requests counted too, which its reading never fits; the store counts
      // them all under the rule held, and a 429 still brings the quota back.
      if (fleet) return undefined;
      followQuota(k);
      return {
        policy: k.policy,
        evidence: "what was left no longer fit a sliding log of the key's own requests: the quota is followed as it goes",
      };
    }
    const windowMs = agedWindow(aging, at);
    if (windowMs === undefined && source === 'quota') return sendAlone(k, aging, at);
    const current = source === 'sliding-log' ? k.policy.rules[0] : undefined;
    if (windowMs === undefined || (current && windowMs > current.windowMs * SHORTER_BY)) return undefined;
    const rule = learntRule({ limit: aging.limit, windowMs }, { fullUntil: agedFullUntil(aging, windowMs, at, othersInFlight) });
    const evidence = `what was left as the key's requests aged: a sliding log of ${aging.limit}, its window over ${Math.floor(aging.lo)} ms and at most ${windowMs} ms`;
    k.alone = 'done';
    return adopt(k, 'sliding-log', [rule], evidence);
  };

  // Requests of a key in flight together blur which of them the server counted first: a cut moving shows only between
  // answers to requests sent one at a time. Once the bounds agree, the quota is followed one request at a time for
  // ALONE_FOR windows (at most), once: a sliding log freeing its requests one by one shows it; fixed windows never do.
  const sendAlone = (k: KeyLearning, aging: AgingReading, at: number): Learnt | undefined => {
    if (k.alone === undefined && boundsAgree(aging) && worthSendingAlone(aging)) {
      k.alone = at;
      k.policy = { source: 'quota', rules: [], inFlight: 1 };
      k.rules = [FOLLOWING_QUOTA, inFlightRule(1)];
      const evidence = `what was left as the key's requests aged fits a sliding log of a window over ${Math.floor(aging.lo)} ms and at most ${Math.ceil(aging.hi)} ms: the quota is followed one request at a time, to see it free them one by one`;
      return { policy: k.policy, evidence };
    }
    if (typeof k.alone !== 'number' || (!aging.refuted && at - k.alone < ALONE_FOR * aging.hi)) return undefined;
    k.alone = 'done';
    followQuota(k);
    return {
      policy: k.policy,
      evidence: "the server was not seen to free the key's requests one by one: the quota is followed as it goes",
    };
  };

  // Reads what the answer says of the stated limit's quota as the key's requests age, while the key follows that quota
  // or holds a sliding log read from it; a new limit starts the reading anew.
  const readAgingOf = (k: KeyLearning, answer: Answer, othersInFlight: number) => {
    const source = k.policy.source;
    // A reading must see every answer: one it missed may have come between two it compares.
    if (source !== 'start' && source !== 'quota' && source !== 'sliding-log') return void (k.aging = undefined);
    const { limit } = answer;
    if (limit !== undefined && answer.status !== 429 && answer.remaining !== undefined && k.aging?.limit !== limit) {
      if (typeof k.alone === 'number') followQuota(k);
      k.alone = undefined;
      k.aging = startAging(limit, k.heard, answer.at);
    }
    if (k.aging) readAging(k.aging, { ...answer, refused: answer.status === 429 || answer.status === undefined }, othersInFlight);
  };

  // The documented rules hold again. Their logs were dropped while the quota was followed: each starts full of the key's
  // requests answered since, as the server may still count them.
  const documentedAgain = (k: KeyLearning, back: DocumentedBack, at: number, evidence: string): Learnt => {
    const answeredAt = (k.answeredLately ?? []).map((answer) => answer.at);
    k.documentedBack = undefined;
    k.policy = back.policy;
    k.rules = k.policyRules = back.rules.map((rule) => ({ ...rule, startsFrom: { fullUntil: fullUntilOver(answeredAt, rule, at) } }));
    return { policy: k.policy, evidence };
  };

  // No quota stated. The requests answered since the last pause all fit: at most that many per the time from the first
  // of them to the moment the server took one more (for a sliding log met from empty, its limit and at least its
  // window). That moment is this 429's stated wait on (the server full until then), or, with none stated, the first
  // answer after the pause (the server full with it). A later 429 keeps the slower of the rule and the new estimate,
  // and if the rule was the slower, lengthens its window by an eighth. The rule starts as `startAfter` says.
  const estimate = (k: KeyLearning, episode: Episode, freed: Freed, evidence: string, tooShort?: TooShort) => {
    const { accepted, firstSent, refusedAt, roundTripMs } = episode;
    const current = k.policy.source === 'refusals' ? k.policy.rules[0] : undefined;
    let measured = accepted > 0 ? { limit: accepted, windowMs: Math.ceil(freed.at - firstSent) } : undefined;
    // A start pushed past START_IN_FLIGHT, free again sooner than it took to be refused, met its limit after many
    // windows: the same rate, fewer at a time (a burst of all it sent would be refused). The requests in flight bound
    // the burst; the window stays SPREAD_ROUND_TRIPS round trips long, as each request counts until answered.
    const pushed = k.pushedInFlight;
    const spread = measured !== undefined && pushed !== undefined && pushed < accepted && freed.at - refusedAt < refusedAt - firstSent;
    if (measured && pushed !== undefined && spread) {
      const share = Math.max(pushed, Math.ceil((accepted * SPREAD_ROUND_TRIPS * roundTripMs) / measured.windowMs));
      if (share < accepted) {
        measured = { limit: share, windowMs: Math.ceil((measured.windowMs * share) / accepted) };
        evidence += `: the same rate, ${share} at a time`;
      }
    }
    const rate = (l: Limit) => l.limit / l.windowMs;
    let next: Limit | undefined = measured;
    if (current && k.startTook === 1 && current.limit === 1) {
      // A server that takes one at a time refused a window that held: longer by a step, one at a time still (an episode
      // measured with its pause and round trips in it is slower than the server, and would let a burst go); further
      // where what held was luck (see `backFromLuck`).
      next = k.heldByLuck ? backFromLuck(current, k.heldByLuck) : { limit: 1, windowMs: Math.ceil(current.windowMs * (1 + SEARCH_STEP)) };
    } else if (current && (!measured || rate(measured) >= rate(current)))
      next = { limit: current.limit, windowMs: Math.ceil(current.windowMs * (1 + SEARCH_STEP)) };
    if (!next) return undefined;
    // What shows a window too short bounds the first one measured, met from empty (a sliding log's limit and window),
    // not one measured later (a bucket's rate once its burst is spent), over many windows, nor a rule kept from before.
    const span = spread && !current ? { ms: freed.at - firstSent, from: freed.at } : undefined;
    k.search = startSearch(next, k.search?.over, current || spread ? undefined : tooShort, span);
    const together = freed.together && !current && !spread;
    const start = startAfter(episode, freed, next, together);
    // The first two requests the estimate lets go go alone: an estimate too fast (a bucket's burst taken for its rate)
    // is refused once, where a log or a window that freed them takes both. What the server freed together then goes
    // again together, ramping up; one a step goes on at its pace (held back longer, the steps would go at once). A rate
    // held a few at a time after a pushed start ramps up to the start's count: if it is a bucket's burst, refused with
    // few in flight.
    const upTo = together ? undefined : spread && !freed.together ? pushed : ESTIMATE_ALONE;
    k.ramp = { inFlight: 1, answered: 0, since: freed.at, alone: ESTIMATE_ALONE, upTo };
    const learnt = adopt(k, 'refusals', [learntRule(next, start)], evidence);
    k.estimated = next === measured && !spread ? { firstSent, rules: k.policyRules, start } : undefined;
    return learnt;
  };

  // A request of the episode a 429 ended, sent no later than the request refused and answered after that 429: the
  // server took one more than the estimate counted. During the pause nothing went since: the estimate's start counts it
  // too; later, the estimate's log is taken over.
  const lateAccepted = (k: KeyLearning, answer: Answer): Learnt | undefined => {
    // Sent after the request refused, it reached the server after that one, most likely: taken because the server had
    // freed or refilled one since, not one more it took before it was full (a bucket kept busy would be taken faster
    // than it refills).
    if (k.lastRefusedSentAt !== undefined && answer.sentAt > k.lastRefusedSentAt) return undefined;
    if (k.unstated && answer.sentAt >= k.unstated.firstSent) {
      k.unstated.accepted++;
      k.unstated.lastAnswered = Math.max(k.unstated.lastAnswered, answer.at);
      return undefined;
    }
    const { estimated } = k;
    const rule = k.policy.rules[0];
    if (!estimated || !rule || k.policyRules !== estimated.rules || answer.sentAt < estimated.firstSent) return undefined;
    const next = { limit: rule.limit + 1, windowMs: rule.windowMs };
    if (k.search && k.search.held.limit === rule.limit && k.search.held.windowMs === rule.windowMs) k.search.held = next;
    const { counted, at } = estimated.start;
    const duringPause = answer.at < k.episodeFloor && counted !== undefined && at !== undefined;
    const start = duringPause ? { ...estimated.start, counted: counted + 1, at: Math.max(at, answer.at) } : { fromLog: true };
    const learnt = adopt(
      k,
      'refusals',
      [learntRule(next, start)],
      `a request sent before that 429 was answered after it: ${next.limit} requests, not ${rule.limit}`,
    );
    k.estimated = { ...estimated, rules: k.policyRules, start };
    return learnt;
  };

  // A 429 to the rule the search tried: the one that held before it, full as the server is until the pause ends. Unless
  // the server, kept busy since the last 429, took a rate slower than that rule by more than a step: a bucket empty at
  // both 429s refilled what it took in between, and the rule held on what it had saved up (see `sustainedRule`).
  const searchRefused = (k: KeyLearning, fullUntil: number, sustained?: Sustained): Learnt | undefined => {
    const current = k.policy.rules[0];
    if (!current || k.policy.source !== 'refusals') return undefined;
    const search = k.search;
    const waitedAgain = k.searchAgain;
    let held = searchBack(search, current);
    // A search started again: refused at its first step, the server allows no more than before (the next try waits
    // twice as long); a step held first, it did (the next try comes as soon as the first did).
    if (held && search?.again) k.searchAgain = search.steps === 1 ? longerWait(k.searchAgain) : FIRST_SEARCH_AGAIN;
    // A faster rule such searches found, refused later (it held by luck, as a window a round trip short of the server's
    // may, for minutes): the rule the first of them started from comes back, and the next try waits twice as long.
    const before = k.beforeAgain;
    if (!held && before && faster(current, before)) {
      held = before;
      k.searchAgain = longerWait(k.searchAgain);
    }
    // The window the search settled on, refused later: it held by luck (a fixed window's phase, round trips shorter
    // than most) and may be shorter than the server's; halfway back to the window the search started from. Not of a
    // server that saves up: that one held on its savings, and a new estimate reads the rate it sustains.
    const settled =
      search?.over && search.steps > 0 && search.held.windowMs === current.windowMs && current.windowMs < search.from.windowMs;
    if (!held && settled && !savesUp(current, k.startTook ?? 0))
      held = { limit: current.limit, windowMs: halfwayBetween(current.windowMs, search.from.windowMs) };
    if (!held) return undefined;
    if (before && !faster(held, before)) k.beforeAgain = undefined;
    const took = sustainedRule(held, sustained);
    if (took) {
      // The steps that held, held on savings: the server allows no more than it sustained, and the next try looser
      // waits twice as long as this one did.
      k.beforeAgain = undefined;
      k.searchAgain = longerWait(waitedAgain);
      const evidence = `a 429 to a window of ${current.windowMs} ms, ${sustained?.accepted} requests taken in the ${Math.round(sustained?.spanMs ?? 0)} ms since the last: ${took.limit} per ${took.windowMs} ms, not ${held.limit} per ${held.windowMs} ms, which held on what the server had saved up`;
      return adopt(k, 'refusals', [learntRule(took, { fullUntil })], evidence);
    }
    const rule = learntRule(held, { fullUntil });
    return adopt(k, 'refusals', [rule], `a 429 to a window of ${current.windowMs} ms: back to ${held.windowMs} ms`);
  };

  // A rule whose search is over (or never started) and that keeps holding requests back is tried a step looser again,
  // once it held back `searchAgain` of them: the server may allow more by now.
  const searchAgainOn = (k: KeyLearning, answer: Answer, waitedForKey: boolean) => {
    const current = k.policy.rules[0];
    if (!current || !waitedForKey || k.adopted || (k.search && !k.search.over)) return;
    if (k.heldBack++ === 0) k.heldBackSince = answer.at;
    if (k.heldBack < k.searchAgain.limits * current.limit || answer.at - k.heldBackSince < k.searchAgain.ms) return;
    k.heldBack = 0;
    k.beforeAgain ??= current;
    k.search = startSearch(current, false, undefined, undefined, true);
  };

  const searchOn = (k: KeyLearning, answer: Answer): Learnt | undefined => {
    const current = k.policy.rules[0];
    // Past the rate its requests in flight allow (as many per round trip), a shorter window would try nothing.
    const inFlight = inFlightAllowed(k);
    const capRate = inFlight === undefined ? Number.POSITIVE_INFINITY : inFlight / Math.max(1, answer.at - answer.sentAt);
    if (current && current.limit / current.windowMs >= capRate) return undefined;
    if (!current) return undefined;
    // A server that takes one at a time saves nothing up while the key sends slower: one answer decides a step, unless
    // a window that held was refused later.
    const oneAtATime = current.limit === 1 && k.startTook === 1 && !k.heldByLuck;
    const step = searchFurther(k.search, current, answer.at, oneAtATime ? answer.at - answer.sentAt : undefined);
    if (!step) return undefined;
    // The log taken over frees at once what the shorter window no longer counts: one request goes first, and a 429 to
    // it ends the search before more go.
    const rule = learntRule({ limit: current.limit, windowMs: step.windowMs }, { fromLog: true });
    k.ramp = { inFlight: 1, answered: 0, since: answer.at };
    const again = k.search?.again && k.search.steps === 1;
    const evidence = again
      ? `the rule held back ${k.searchAgain.limits * current.limit} requests or more, over ${Math.round(k.searchAgain.ms / 60_000)} minutes or more, without a 429: trying a window of ${step.windowMs} ms again`
      : `${step.answers} ${step.answers === 1 ? 'answer' : 'answers'} without a 429: trying a window of ${step.windowMs} ms`;
    return adopt(k, 'refusals', [rule], evidence);
  };

  // What the key is held to, with the caps learnt per endpoint.
  const viewOf = (k: KeyLearning): LearntPolicy => (k.caps?.size ? { ...k.policy, concurrency: Object.fromEntries(k.caps) } : k.policy);

  // A 429 that refused requests in flight, not the rate: its endpoint takes one fewer than were in flight, from now on.
  const capped = (k: KeyLearning, answer: Answer, endpoint: string, inFlight: number): Learnt | undefined => {
    const caps = (k.caps ??= new Map());
    const cap = inFlight - 1;
    const held = caps.get(endpoint);
    if (held !== undefined && held <= cap) return undefined;
    remember(caps, endpoint, cap, MAX_CAPS);
    const evidence = `a 429 stating ${answer.remaining} left of the quota while ${inFlight} requests of ${endpoint} were in flight: at most ${cap} there`;
    return { policy: viewOf(k), evidence, endpoint };
  };

  // An answer, during the pause, to a request the pushed start sent after the one its first 429 refused.
  const readDuringPause = (k: KeyLearning, refill: RefillReading, answer: Answer, taken: boolean): Learnt | undefined => {
    noteDuringPause(refill, answer.sentAt, taken);
    const took = refill.taken;
    const what = `${took} of the requests sent after the one refused ${took === 1 ? 'was' : 'were'} taken, others refused`;
    return holdInFlight(k, `${what} no sooner: the server frees steadily`);
  };

  const refused = (k: KeyLearning, answer: Answer): Learnt | undefined => {
    if (k.policy.source === 'sliding-log') {
      if (k.aging) refute(k.aging);
      followQuota(k);
      return { policy: k.policy, evidence: 'a 429 under the sliding log read: the quota is followed as it goes' };
    }
    const documented = k.documentedBack;
    if (documented && answer.sentAt >= documented.since)
      return documentedAgain(
        k,
        documented,
        answer.at,
        `a 429 after that reset: the documented ${describe(documented.policy.rules)} hold again`,
      );
    // A 429 to a request sent before the last pause is that pause's.
    if (answer.sentAt < k.episodeFloor)
      return k.refill && readsFrom(k.refill, answer.sentAt) ? readDuringPause(k, k.refill, answer, false) : undefined;
    const retryAt = answer.retryAt ?? answer.at;
    const accepted = k.accepted;
    const firstSent = Math.min(k.episodeStart, answer.sentAt);
    const lastAnswered = k.episodeEnd;
    const busy = k.acceptedWaiting * 2 >= accepted;
    const emptySince = k.lastRefusedSentAt;
    k.lastRefusedSentAt = answer.sentAt;
    k.refusalsInRow++;
    k.heldBack = 0;
    k.episodeFloor = retryAt;
    k.episodeStart = Number.POSITIVE_INFINITY;
    k.episodeEnd = Number.NEGATIVE_INFINITY;
    k.accepted = 0;
    k.acceptedWaiting = 0;
    const roundTripMs = answer.at - answer.sentAt;
    const burst = k.startTook ?? 0;
    const sustained = busy && emptySince !== undefined ? { accepted, spanMs: answer.at - emptySince, roundTripMs, burst } : undefined;
    const back = searchRefused(k, retryAt, sustained);
    if (back) return back;
    // Of a server that takes one at a time, a 429 to a window the search found held: what held was luck (a fixed
    // window's phase), and one answer decides nothing there.
    const current = k.policy.rules[0];
    if (k.startTook === 1 && k.search?.steps && k.policy.source === 'refusals' && current) {
      k.search.over = true;
      const first = !k.heldByLuck;
      k.heldByLuck ??= { searchedFrom: k.search.from.windowMs, refused: 0 };
      if (first && current.limit === 1) {
        const back = backFromLuck(current, k.heldByLuck);
        const evidence = `a 429 to a window of ${current.windowMs} ms that held: it held by luck (a fixed window's phase); back to ${back.windowMs} ms`;
        // Nothing goes until the window held now has passed since the request let go before the one refused (sent a
        // window of the rule refused before it, at most).
        const fullUntil = Math.max(retryAt, answer.sentAt - current.windowMs + back.windowMs);
        return adopt(k, 'refusals', [learntRule(back, { fullUntil })], evidence);
      }
    }
    // Where the server states its quota, a 429 is the store's to follow (it pauses the key), not a measure of the limit.
    if (k.policy.source !== 'start' && k.policy.source !== 'refusals') return undefined;
    if (k.policy.source === 'start') {
      k.startTook ??= accepted;
      const grown = grownStart(k);
      if (grown !== undefined) {
        k.pushedInFlight = grown - 1;
        k.refill = startReading(answer.sentAt, retryAt);
      }
      restart(k);
    }
    if (!answer.delayStated) {
      // The wait is a guess: the first answer after the pause tells when the server took one more.
      if (accepted > 0)
        k.unstated = { accepted, firstSent, lastAnswered, answeredIn: answer.at - firstSent, roundTripMs: answer.at - answer.sentAt };
      // A probe refused: the server was still full when it came, that long after the first request it took.
      else if (k.unstated) k.unstated.tooShort = answer.sentAt - k.unstated.firstSent;
      return undefined;
    }
    k.unstated = undefined;
    const evidence = `a 429 after ${accepted} requests answered in ${Math.round(answer.at - firstSent)} ms, asking to wait ${Math.round(retryAt - answer.at)} ms`;
    // A wait in whole seconds is rounded up: the server was still full a second before it ended.
    const wholeSeconds = (retryAt - answer.at) % 1000 === 0 && retryAt - answer.at >= 1000;
    const episode = { accepted, firstSent, lastAnswered, refusedAt: answer.at, roundTripMs: answer.at - answer.sentAt };
    const tooShort = wholeSeconds ? { ms: retryAt - 1000 - firstSent, eighthsFirst: 0 } : undefined;
    // A bucket refilled at the rate measured would have asked to wait one step of it (in whole seconds, rounded up).
    const step = (retryAt - firstSent) / Math.max(1, accepted);
    const together = retryAt - answer.at > (wholeSeconds ? Math.ceil(step / 1000) * 1000 : step);
    // A wait longer than that: the server is full until then (a request sent after the one refused was taken only as it
    // came sooner), or it refills slower than one a step: what the pause brings back shows nothing of how steadily.
    if (together) k.refill = undefined;
    return estimate(k, episode, { at: retryAt, probe: false, together }, evidence, tooShort);
  };

  const answered = (k: KeyLearning, answer: Answer, quotas: AnnouncedQuota[], waitedForKey: boolean, othersInFlight: number) => {
    k.answered++;
    const afterPause = answer.sentAt >= k.episodeFloor;
    // An answer to a request sent before the last pause says nothing of the server since: the 429s in a row go on.
    if (afterPause) k.refusalsInRow = 0;
    const unstated = afterPause ? k.unstated : undefined;
    if (afterPause) {
      k.unstated = undefined;
      k.accepted++;
      if (waitedForKey) k.acceptedWaiting++;
      k.episodeStart = Math.min(k.episodeStart, answer.sentAt);
      k.episodeEnd = Math.max(k.episodeEnd, answer.at);
    }
    if (quotas.length) return announced(k, quotas, answer);
    if (!afterPause && k.refill && readsFrom(k.refill, answer.sentAt)) return readDuringPause(k, k.refill, answer, true);
    if (!afterPause && (k.policy.source === 'refusals' || k.unstated)) return lateAccepted(k, answer);
    if (unstated && k.statedLimit === undefined) {
      const freeAt = answer.at;
      const evidence = `a 429 stating no wait after ${unstated.accepted} requests answered in ${Math.round(unstated.answeredIn)} ms; an answer again ${Math.round(freeAt - unstated.firstSent)} ms after the first of them`;
      const { accepted, firstSent, lastAnswered, answeredIn, roundTripMs } = unstated;
      const episode = { accepted, firstSent, lastAnswered, refusedAt: firstSent + answeredIn, roundTripMs };
      const tooShort = unstated.tooShort === undefined ? undefined : { ms: unstated.tooShort, eighthsFirst: 1 };
      // A bucket refilled at the rate measured would have taken the probe refused last, a step or more after the 429.
      const step = (freeAt - firstSent) / accepted;
      const together = tooShort !== undefined && firstSent + tooShort.ms - episode.refusedAt >= step;
      return estimate(k, episode, { at: freeAt, probe: true, together }, evidence, tooShort);
    }
    const { limit, remaining, resetAt } = answer;
    if (k.policy.source === 'documented')
      return remaining === undefined ? undefined : checkDocumented(k, answer, remaining, othersInFlight);
    const back = k.documentedBack;
    if (back) {
      const seen =
        back.why === 'left' ? seeIfLeftMoreThanDocumented(k, back, answer, remaining) : seeIfDocumentedTooTight(k, back, answer, remaining);
      if (seen || k.documentedBack) return seen;
    }
    let learnt: Learnt | undefined;
    if (remaining !== undefined && resetAt !== undefined && k.policy.source === 'start') {
      followQuota(k);
      learnt = { policy: k.policy, evidence: 'the server states what is left and when it resets: followed as it goes' };
    }
    if (limit !== undefined && remaining !== undefined && resetAt !== undefined && k.policy.source !== 'refusals')
      learnt = limitAndReset(k, { ...answer, limit, remaining, resetAt }) ?? learnt;
    learnt = slidingLog(k, answer.at, othersInFlight) ?? learnt;
    if (learnt) return learnt;
    if (k.policy.source === 'start') return void slowStart(k);
    if (k.policy.source !== 'refusals') return undefined;
    rampOn(k, answer);
    if (k.refill && afterPause) {
      noteAfterPause(k.refill, START_GROWTH_ANSWERS);
      holdInFlight(k);
    }
    searchAgainOn(k, answer, waitedForKey);
    return searchOn(k, answer);
  };

  // The fleet's policy for the key, learnt by another process: held as this process's own, without a search of its own
  // (the process that learnt it searches, and shares what it finds).
  const adoptShared = (k: KeyLearning, { stamp, policy, evidence }: SharedPolicy): Learnt | undefined => {
    k.stamp = stamp;
    if (policy.source === 'named') return named(k, policy.quotas, `learnt by another process of the fleet: ${evidence}`);
    if (policy.source === k.policy.source && signatureOf(policy.rules) === signatureOf(k.policy.rules)) return undefined;
    k.search = undefined;
    k.looser = undefined;
    if (policy.source === 'limit-and-reset' || policy.source === 'sliding-log') k.statedLimit = policy.rules[0]?.limit;
    if (policy.source === 'quota') followQuota(k);
    else
      adopt(
        k,
        policy.source,
        policy.rules.map((rule) => learntRule(rule, { fromLog: true })),
        '',
      );
    k.adopted = true;
    return { policy: viewOf(k), evidence: `learnt by another process of the fleet: ${evidence}` };
  };

  // The key's answers name the quotas they were counted against: its requests go under those (the rules it holds stay,
  // for a request that would still go under the key itself).
  const named = (k: KeyLearning, quotas: NamedQuotas | undefined, evidence: string): Learnt | undefined => {
    if (!quotas) return undefined;
    k.policy = { source: 'named', rules: [], quotas };
    k.search = undefined;
    return { policy: k.policy, evidence };
  };

  return {
    /** The rules a key is held to now; the same array while they hold. */
    rulesOf: (key: string): readonly StoreRule[] => get(key).rules,
    policyOf: (key: string): LearntPolicy | undefined => {
      const k = keys.get(key);
      return k && viewOf(k);
    },
    /** Every key's policy, by key. */
    policies: (): Record<string, LearntPolicy> => Object.fromEntries([...keys].map(([key, k]) => [key, viewOf(k)])),
    /** The most requests in flight learnt for the key's endpoint; undefined: none learnt. */
    capOf: (key: string, endpoint: string) => keys.get(key)?.caps?.get(endpoint),
    /** Whether the store must keep to the answers' quota whatever its log explains: nothing learnt yet, no rule to explain it. */
    trustsQuota: (key: string) => {
      const source = keys.get(key)?.policy.source;
      return source === 'start' || source === 'quota';
    },
    /**
     * How long a 429 that states no wait pauses the key: as the 429 before it, for a request sent before that pause;
     * the shortest learnt window; else as long as the requests answered before it took (a sliding log's window is
     * longer), at least a second; either UNSTATED_GROWTH times longer per 429 in a row (a rule far too fast, against a
     * bucket that refills one in 39 s, met a 429 per window of 694 ms, 43 in a row).
     */
    unstatedDelay(key: string, sentAt: number, at: number): number {
      const k = get(key);
      if (sentAt < k.episodeFloor) return Math.max(0, k.episodeFloor - at);
      const longer = UNSTATED_GROWTH ** k.refusalsInRow;
      // The shortest rule is taken to be full (the store takes the next longer one per 429 in a row): a longest of a day,
      // as a daily quota announced beside HubSpot's 10 s, would pause the key that long at the first 429.
      if (k.policy.rules.length) return Math.min(MAX_UNSTATED_DELAY_MS, shortestWindow(k.policy.rules) * longer);
      // The first 429 of a row sets the base: the server's window is at least as long as the requests before it took,
      // unless the start had been pushed past START_IN_FLIGHT (its limit met after many windows, likely short ones).
      if (k.refusalsInRow === 0) {
        const took = Number.isFinite(k.episodeStart) && grownStart(k) === undefined ? at - k.episodeStart : 0;
        k.unstatedBase = Math.max(FIRST_UNSTATED_DELAY_MS, took);
      }
      return Math.min(MAX_UNSTATED_DELAY_MS, k.unstatedBase * longer);
    },
    /** The stamp of the fleet's policy the key's is (0: none), for a store that shares policies. */
    stampOf: (key: string) => keys.get(key)?.stamp ?? 0,
    /** The key's answers name their quotas: which each endpoint goes under; returns it, to announce. */
    named: (key: string, quotas: NamedQuotas, evidence: string) => named(get(key), quotas, evidence),
    /** Holds the fleet's policy a shared store answered with; returns what changed, to announce. */
    adoptShared: (key: string, shared: SharedPolicy) => adoptShared(get(key), shared),
    /** The store kept `policy` as the fleet's, under `stamp`: the key holds that stamp while it holds that policy. */
    shared(key: string, stamp: number, policy: LearntPolicy) {
      const k = keys.get(key);
      if (k?.policy === policy) k.stamp = stamp;
    },
    /** Learns from an answer, after the store did; returns what changed, to announce. */
    learn(key: string, answer: Answer, quotas: AnnouncedQuota[], sent: SentWith = {}): Learnt | undefined {
      const { endpoint = '', inFlight = 1, waitedForKey = false, othersInFlight = 0 } = sent;
      // A request that failed may have been counted: a reading of what is left must know it was sent.
      if (answer.status === undefined) {
        const known = keys.get(key);
        if (known) readAgingOf(known, answer, othersInFlight);
        return undefined;
      }
      const k = get(key);
      readAgingOf(k, answer, othersInFlight);
      k.heard++;
      if (answer.concurrencyRefused) return capped(k, answer, endpoint, inFlight);
      const learnt = answer.status === 429 ? refused(k, answer) : answered(k, answer, quotas, waitedForKey, othersInFlight);
      return learnt && { ...learnt, policy: viewOf(k) };
    },
  };
}
