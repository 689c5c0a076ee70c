import type { LearntPolicy } from './learn.js';
import { earlyAfter, foundAllBack, keepsBack, type RefillEpoch, type RefillSearch, searchRefill } from './quota-refill.js';
import { remember } from './recent.js';
import {
  busyUntil,
  countedSince,
  fill,
  longestWindow,
  type RuleState,
  record,
  ruleWait,
  type StoreRule,
  settle,
  shortestWindow,
  startState,
  tokensLeft,
  unrecord,
} from './rule-state.js';
import { free, heldAt, type Slots, take } from './slots.js';

export { LOG_CELLS, type RuleStart, type StoreRule } from './rule-state.js';

export interface AcquireInput {
  key: string;
  endpoint: string;
  now: number;
  rules: readonly StoreRule[];
  /** Requests in flight per endpoint of the key. */
  concurrency: number;
  /** A slot not released after this long is taken back (a crashed process, a body never read). */
  leaseMs: number;
  /** The request exchanges an API key for a token: it counts against the rules unless answers showed the server leaves it out. */
  tokenExchange?: boolean;
  /** Other requests of the key waiting in this limiter: a lone request never waits for a refill search (`RefillSearch`). */
  waiting?: number;
  /**
   * With `rules: 'auto'` on a store that shares learnt policies (`sharePolicy`): the stamp of the one the limiter holds
   * (0: none). A store keeping a policy of another stamp for the key answers with it (`shared`).
   */
  policyStamp?: number;
}

/** A key's learnt policy as a shared store keeps it for the fleet; `stamp` tells its versions apart. */
export interface SharedPolicy {
  stamp: number;
  policy: LearntPolicy;
  /** What it was learnt from, as the process that learnt it said. */
  evidence: string;
}

/** What an answer (or a failure) says, as the limiter hands it to the store. */
export interface Answer {
  /** When the request left: its round trip starts here. */
  sentAt: number;
  /** When the answer, or the failure, came: now. */
  at: number;
  /** The answer's status; undefined when the request failed without one. */
  status?: number;
  /** On a 429: the key waits until then (its `Retry-After`, else the quota's reset, else the shortest rule window). */
  retryAt?: number;
  /** On a 429: whether the server stated that wait (`Retry-After` or a reset), or the limiter chose it. */
  delayStated?: boolean;
  /**
   * On a 429: the quota it states has requests left and its endpoint had others in flight, so it refused something
   * else than the rate (requests in flight, as `rules: 'auto'` takes it): the key still waits, but no rule is taken
   * to be full.
   */
  concurrencyRefused?: boolean;
  /** The quota the headers state: `remaining` requests left until `resetAt`, of `limit` per `windowMs`. */
  remaining?: number;
  resetAt?: number;
  /** `resetAt` was stated in whole seconds, rounded up: the quota may be back up to a second sooner. */
  resetInWholeSeconds?: boolean;
  limit?: number;
  windowMs?: number;
  /**
   * No rule is known yet (`rules: 'auto'` before it learnt one): the quota the answer states is the rule, followed epoch
   * by epoch (`FollowedQuota`) whatever the log explains.
   */
  quotaTrusted?: boolean;
}

/** What the store learnt from an answer that the limiter reports. */
export interface Outcome {
  /** The key now waits until `until`: a 429, or a quota spent by requests this store never saw. */
  paused?: { until: number; reason: '429' | 'remaining' };
  /** The server counts token exchanges against the key, or does not: what the answers showed. */
  tokenExchangeCounted?: boolean;
}

export interface Lease {
  ok: true;
  /** The policy the fleet learnt for the key, when it is not the one the limiter holds (`policyStamp`). */
  shared?: SharedPolicy;
  /** Number of this send among the key's sends. Never reused by the store, even after the key's state is dropped. */
  seq: number;
  /**
   * Nothing else of the key was in flight when this lease was taken (for a shared store, in the whole fleet): its round
   * trip waited in no queue the key made itself, and may teach the limiter its margin. Undefined: not known (it does not).
   */
  alone?: boolean;
  /**
   * The request is over. `countedBy` is the latest time the server can have counted it and still be busy with it (its
   * answer's arrival less what the limiter knows of the way back, or a margin after a failure). Its slot is free from
   * then, and it counts from then (or from its send plus `jitterMs`, if sooner) until `windowMs` after. Until released
   * it holds its slot until `send + leaseMs`, and counts as in flight until `send + min(jitterMs, leaseMs)`. A request
   * that was not sent after all is released at `-Infinity`: it never counted. With `answer`, the store also learns
   * from it, as `observe` does.
   */
  release(countedBy: number, answer?: Answer): Outcome | undefined | Promise<Outcome | undefined>;
  /** Learns from the answer while the request keeps its slot (its body is still being read). */
  observe(answer: Answer): Outcome | undefined | Promise<Outcome | undefined>;
}

/** Why a request cannot go yet: nothing of its key can (`'key'`), or only its endpoint's slots are taken (`'endpoint'`). */
export type Refusal = { ok: false; retryAt: number; blocked: 'key' | 'endpoint'; shared?: SharedPolicy };

export type Acquired = Lease | Refusal;

/**
 * Where requests are counted. Each method is atomic for its key; a shared store (Redis, with a script per method)
 * gives a fleet the same guarantees as one process. Methods may return promises.
 */
export interface RateLimitStore {
  /** Checks the pause, the server's budget, every rule and the endpoint's slots; when all allow, counts the send and takes a slot. */
  acquire(input: AcquireInput): Acquired | Promise<Acquired>;
  /**
   * A 429 the limiter did not see itself (announced on the bus): holds the key until `until`, then lets one request go
   * until an answer to it arrives. Resolves to the end of the pause, or 0 when the key was already held that long.
   */
  pause(key: string, until: number, now: number, rules: readonly StoreRule[]): number | Promise<number>;
  /**
   * For a store shared by processes: calls `listener` with a key when another process may have freed capacity of it, so
   * the key's waiters look again at once. Returns what stops it. A store without it is looked at again when `acquire`
   * said to (the limiter's own releases it sees itself).
   */
  onFreed?(listener: (key: string) => void): () => void;
  /**
   * Whether the store follows what `rules: 'auto'` hands it: rules that change per key and start from `startsFrom`, and
   * answers with `quotaTrusted`. The memory store does.
   */
  readonly takesLearntRules?: boolean;
  /**
   * For a store shared by processes: keeps a policy `rules: 'auto'` learnt for the key, for every process of the fleet
   * (each gets it in `acquire`'s answer) and for those that start later. Resolves to its stamp, or undefined when it
   * could not be kept.
   */
  sharePolicy?(
    key: string,
    learnt: { policy: LearntPolicy; evidence: string },
    now: number,
  ): number | undefined | Promise<number | undefined>;
}

export interface MemoryStore extends RateLimitStore {
  acquire(input: AcquireInput): Acquired;
  pause(key: string, until: number, now: number, rules: readonly StoreRule[]): number;
  /** Keys holding state. */
  readonly size: number;
  /** Drops the state of every idle key; returns how many keys remain. */
  prune(now: number): number;
  /** What the store holds for a key, for monitoring and tests: per rule its entries and requests in flight. */
  stateOf(key: string): KeySnapshot | undefined;
}

export interface KeySnapshot {
  pausedUntil: number;
  /** Whether the server counts token exchanges, as its answers showed; undefined: not known (they count). */
  tokenExchangeCounted: boolean | undefined;
  rules: { limit: number; windowMs: number; entries: number; inFlight: number; assumedFull: boolean }[];
}

/**
 * A quota followed as the rule (`quotaTrusted`), in epochs: each starts with a request sent alone after the last reset
 * and lasts to the reset its answer gives. Within one, no server frees a request (a sliding log's oldest stays, a fixed
 * window stays), so the lowest `remaining` of the epoch's answers (`floor`), less the requests in flight and those that
 * failed, is what is left; a bucket that refills only leaves more. Past `until` the next request goes alone.
 */
interface FollowedQuota extends RefillEpoch {
  floor: number;
  until: number;
  /** The epoch's first send: its answer sets `until`, and whether it found all of the quota back. */
  epochSeq: number;
  allBack?: boolean;
}

/**
 * A followed quota's epoch from send `epochSeq` at `startedAt` on, none of its answers read yet; until `until` unless
 * its first answer says. Started `early` (`RefillSearch`), before the reset of that one.
 */
const newEpoch = (epochSeq: number, until: number, startedAt: number, early?: FollowedQuota): FollowedQuota => ({
  floor: Number.POSITIVE_INFINITY,
  until,
  epochSeq,
  startedAt,
  earlyAfter: early && startedAt - early.startedAt,
  lastReset: early?.until,
});

/** A token exchange: when it went and was answered, and the instant each rule counted it at (to take it back). */
interface Exchange {
  seq: number;
  sentAt: number;
  answeredAt?: number;
  countedAt: (number | undefined)[];
}

interface KeyState {
  /** One state per rule of `rulesUsed`, in its order. */
  rules: RuleState[];
  rulesUsed: readonly StoreRule[];
  /** Per endpoint: when each slot held is free again (none kept without a concurrency cap). */
  slots: Map<string, Slots>;
  /** Slot lists kept after the last sweep of idle endpoints: the next sweep comes when twice as many are kept. */
  slotsSwept: number;
  /** Nothing goes before this: a 429, or a quota spent by requests this store never saw. */
  pausedUntil: number;
  /** After a pause one request goes alone: `'due'` until it is sent, then its send number and lease end until it ends. */
  probe?: 'due' | { seq: number; until: number };
  /** The server's quota from an answer the log could not explain: `left` of it until `until`, less the sends since `fromSeq`. */
  budget: { left: number; until: number; fromSeq: number };
  /** The quota followed where no rule is known yet (answers with `quotaTrusted`). */
  quota?: FollowedQuota;
  /** How soon the followed quota is all back, where its resets are in whole seconds: its epochs keep one request back. */
  refill?: RefillSearch;
  /** The most any answer of the followed quota said was left, where none states its limit. */
  quotaMost?: number;
  /** 429s in a row, each to a request sent after the pause of the one before: which rule the next one is taken to mean. */
  refusals: number;
  /** Sends numbered from here on were sent after the key's last 429 pause began. */
  pauseSeq: number;
  /** Whether the server counts token exchanges; undefined: not known yet, so they count. */
  exchangeCounted?: boolean;
  lastExchange?: Exchange;
  /** The next send's number, and the first of this state's (an answer to a send before it is from a dropped state). */
  nextSeq: number;
  firstSeq: number;
}

/** Keys whose learnt facts (whether the server counts token exchanges) the memory store keeps once their state is dropped. */
const MAX_KEYS_LEARNT = 10_000;

/** A `Retry-After` or reset in whole seconds lies up to a second after the instant it stands for. */
const HEADER_RESOLUTION_MS = 1000;

const latestCount = (rule: StoreRule, sentAt: number, leaseMs: number) => sentAt + Math.min(rule.jitterMs, leaseMs);

/**
 * The rule states for `rules`: the same as last time, or matched by rule (a limiter with other rules shares the store).
 * A learnt rule without a state of its own starts as its `startsFrom` says: from the log of a dropped rule of a window at
 * least as long, or from what the server was seen to count.
 */
function statesFor(key: KeyState, rules: readonly StoreRule[]): RuleState[] {
  if (key.rulesUsed === rules) return key.rules;
  const same = (a: StoreRule, b: StoreRule) => a.limit === b.limit && a.windowMs === b.windowMs && a.burst === b.burst;
  const dropped = key.rules.filter((state) => !rules.some((rule) => same(state.rule, rule)));
  const takeOver = (rule: StoreRule) => {
    let best = -1;
    dropped.forEach((state, i) => {
      const fits = state.kind === 'log' && !rule.burst && state.rule.windowMs >= rule.windowMs;
      if (fits && (best < 0 || state.rule.windowMs < (dropped[best] as RuleState).rule.windowMs)) best = i;
    });
    return best < 0 ? undefined : dropped.splice(best, 1)[0];
  };
  key.rules = rules.map((rule) => {
    const state =
      key.rules.find((s) => same(s.rule, rule)) ??
      (rule.startsFrom?.fromLog ? takeOver(rule) : undefined) ??
      startState(rule, rule.startsFrom);
    state.rule = rule;
    return state;
  });
  key.rulesUsed = rules;
  // A key that follows its quota, made anew (its state dropped while idle), knows none yet: one request goes first.
  if (rules.some((rule) => rule.startsFrom?.followsQuota)) key.quota ??= newEpoch(key.nextSeq, 0, 0);
  return key.rules;
}

/** The rule a 429 is taken to mean: the one its headers name, else the shortest that can explain its wait, one longer per 429 in a row. */
function ruleRefusing(states: RuleState[], answer: Answer, delay: number, refusals: number): RuleState | undefined {
  const named = states.find((s) => s.rule.limit === answer.limit && (answer.windowMs === undefined || s.rule.windowMs === answer.windowMs));
  if (named) return named;
  const byWindow = [...states].sort((a, b) => a.rule.windowMs - b.rule.windowMs);
  const able = byWindow.filter((s) => s.rule.windowMs + HEADER_RESOLUTION_MS >= delay);
  const candidates = able.length ? able : byWindow.slice(-1);
  return candidates[Math.min(refusals, candidates.length) - 1];
}

/**
 * Whether the key's own requests account for what the server says it counted: `remaining` is at least what the tightest
 * rule would leave if the server saw only them. Each rule counts as its own every request it holds that the server can
 * have counted with the answered one (in flight, or dated within the window of its send).
 */
function explains(states: RuleState[], answer: Answer): boolean {
  if (!states.length || answer.remaining === undefined) return false;
  const named = states.find((s) => s.rule.limit === answer.limit && (answer.windowMs === undefined || s.rule.windowMs === answer.windowMs));
  const slack = (s: RuleState) => (s.kind === 'log' ? s.rule.limit - countedSince(s, answer.sentAt) : tokensLeft(s, answer.at));
  const least = named ? slack(named) : Math.min(...states.map(slack));
  return answer.remaining >= least;
}

/** The default store: one process's memory. Idle keys are dropped as traffic goes on, and by `prune`. */
export function createMemoryStore(): MemoryStore {
  const keys = new Map<string, KeyState>();
  // What answers showed of each key's server outlives the key's state, for at most MAX_KEYS_LEARNT keys.
  const learnt = new Map<string, boolean>();
  // Sends are numbered store-wide, so a key whose state was dropped and made anew never reuses a number.
  let topSeq = 0;

  // As acquire sees it: a probe due a window past its pause is none.
  const probeOver = (k: KeyState, now: number) =>
    k.probe === undefined || (k.probe === 'due' ? now >= k.pausedUntil + longestWindow(k.rulesUsed) : now >= k.probe.until);
  const idle = (k: KeyState, now: number) =>
    now >= k.pausedUntil &&
    (!k.quota || now >= k.quota.until) &&
    probeOver(k, now) &&
    now >= k.budget.until &&
    k.rules.every((state) => busyUntil(state) <= now) &&
    [...k.slots.values()].every((slots) => (slots[slots.length - 1] ?? 0) <= now);

  // A cursor walks the keys, a few per call, so idle keys go without a timer.
  let cursor = keys.entries();
  const touch = (key: string, now: number): KeyState => {
    for (let i = 0; i < 3 && keys.size > 1; i++) {
      let next = cursor.next();
      if (next.done) next = (cursor = keys.entries()).next();
      if (!next.done && next.value[0] !== key && idle(next.value[1], now)) keys.delete(next.value[0]);
    }
    let k = keys.get(key);
    if (!k) {
      k = {
        rules: [],
        rulesUsed: [],
        slots: new Map(),
        slotsSwept: 0,
        pausedUntil: 0,
        budget: { left: Number.POSITIVE_INFINITY, until: 0, fromSeq: 0 },
        refusals: 0,
        pauseSeq: topSeq,
        exchangeCounted: learnt.get(key),
        nextSeq: topSeq,
        firstSeq: topSeq,
      };
      keys.set(key, k);
    }
    return k;
  };

  // Slots of the endpoint still held at `now` (the first of them frees first).
  const slotsOf = (k: KeyState, endpoint: string, now: number): Slots => {
    // Endpoints with nothing in flight are forgotten (paths with ids in them would pile up), in sweeps as the map doubles.
    if (k.slots.size > 2 * k.slotsSwept + 8) {
      for (const [path, slots] of k.slots) if (path !== endpoint && heldAt(slots, now) === 0) k.slots.delete(path);
      k.slotsSwept = k.slots.size;
    }
    let slots = k.slots.get(endpoint);
    if (!slots) k.slots.set(endpoint, (slots = []));
    heldAt(slots, now);
    return slots;
  };

  const hold = (k: KeyState, until: number) => {
    k.pausedUntil = until;
    k.probe = 'due';
  };

  const refuse = (k: KeyState, states: RuleState[], seq: number, answer: Answer): Outcome | undefined => {
    const { at } = answer;
    // A budget the server said is spent lasts to its reset, whatever shorter wait the 429 asks for.
    const spent = answer.remaining === 0 && answer.resetAt !== undefined ? answer.resetAt : 0;
    const until = Math.max(answer.retryAt ?? at, spent);
    // 429s to requests sent before the last pause are that pause's: they lengthen it, but mean no other rule and fill
    // none anew (what the first 429 showed, or the learner made of it, stands). A 429 a window past the last pause starts
    // anew.
    const sameEpisode = seq < k.pauseSeq;
    if (at > k.pausedUntil + longestWindow(k.rulesUsed)) k.refusals = 0;
    if (!sameEpisode) k.refusals++;
    if (sameEpisode && until <= k.pausedUntil) return undefined;
    k.pauseSeq = k.nextSeq;
    const state = sameEpisode || answer.concurrencyRefused ? undefined : ruleRefusing(states, answer, until - at, Math.max(1, k.refusals));
    if (state) fill(state, until);
    if (until <= k.pausedUntil) return undefined;
    hold(k, until);
    return { paused: { until, reason: '429' } };
  };

  // Whether the exchange counts: its own answer stating a quota says it does; an answer after it that shows only one
  // request counted in a window holding both says it does not (then it is taken back).
  const learnExchange = (k: KeyState, states: RuleState[], seq: number, answer: Answer): boolean | undefined => {
    const exchange = k.lastExchange;
    if (!exchange) return undefined;
    if (exchange.seq === seq) {
      exchange.answeredAt = answer.at;
      if (answer.remaining === undefined || k.exchangeCounted === true) return undefined;
      k.exchangeCounted = true;
      return true;
    }
    if (k.exchangeCounted !== undefined || exchange.answeredAt === undefined || answer.remaining === undefined) return undefined;
    if (answer.sentAt < exchange.answeredAt) return undefined;
    const rule = states.find((s) => s.rule.limit === answer.limit)?.rule ?? (states.length === 1 ? states[0]?.rule : undefined);
    const limit = answer.limit ?? rule?.limit;
    const windowMs = answer.windowMs ?? rule?.windowMs;
    if (limit === undefined || windowMs === undefined || limit < 2) return undefined;
    // One counted (this answer's own request) of the two in the window. More left than the limit: a quota of another size.
    if (answer.remaining !== limit - 1 || exchange.sentAt <= answer.at - windowMs) return undefined;
    k.exchangeCounted = false;
    states.forEach((state, i) => {
      if (state.pending.delete(exchange.seq)) return;
      const at = exchange.countedAt[i];
      if (at !== undefined) unrecord(state, at);
    });
    return false;
  };

  const rememberLearnt = (key: string, counted: boolean) => remember(learnt, key, counted, MAX_KEYS_LEARNT);

  // The followed quota's answer with its size: the limit stated, else the most any answer said was left, plus one.
  const sizedQuota = (k: KeyState, answer: Answer): Answer => {
    if (answer.limit !== undefined || answer.remaining === undefined) return answer;
    k.quotaMost = Math.max(k.quotaMost ?? 0, answer.remaining);
    return { ...answer, limit: k.quotaMost + 1 };
  };

  const follow = (quota: FollowedQuota, seq: number, answer: Answer) => {
    // A request that failed may still have been counted; an epoch whose first answer states no quota starts again.
    if (answer.status === undefined || answer.remaining === undefined) {
      quota.floor--;
      if (seq === quota.epochSeq) quota.until = 0;
      return;
    }
    quota.floor = Math.min(quota.floor, answer.remaining);
    if (seq === quota.epochSeq) {
      quota.until = answer.resetAt ?? answer.at;
      quota.allBack = foundAllBack(answer);
    } else if (seq > quota.epochSeq && answer.resetAt !== undefined) quota.until = Math.max(quota.until, answer.resetAt);
  };

  const learn = (key: string, k: KeyState, seq: number, answer: Answer): Outcome | undefined => {
    // An answer to a send of a dropped state: the server may have counted what this state never saw.
    if (seq < k.firstSeq) return undefined;
    const states = statesFor(k, k.rulesUsed);
    if (typeof k.probe === 'object' && seq >= k.probe.seq) k.probe = undefined;
    if (answer.quotaTrusted && answer.remaining !== undefined) k.quota ??= newEpoch(seq, 0, answer.sentAt);
    if (k.quota && (answer.quotaTrusted || answer.status === undefined)) {
      const stated = sizedQuota(k, answer);
      if (seq === k.quota.epochSeq && answer.status !== undefined && answer.status !== 429)
        k.refill = searchRefill(k.refill, k.quota, stated);
      follow(k.quota, seq, stated);
    } else if (answer.status !== undefined) k.quota = k.refill = k.quotaMost = undefined;
    if (answer.status === 429) return refuse(k, states, seq, answer);
    if (answer.status !== undefined) k.refusals = 0;
    const learned = learnExchange(k, states, seq, answer);
    if (learned !== undefined) rememberLearnt(key, learned);
    const outcome: Outcome | undefined = learned === undefined ? undefined : { tokenExchangeCounted: learned };
    if (answer.remaining === undefined || k.quota) return outcome;
    // Older news than the budget held: the server may not have counted what was sent since.
    if (seq < k.budget.fromSeq && answer.at < k.budget.until) return outcome;
    if (explains(states, answer)) {
      k.budget = { left: Number.POSITIVE_INFINITY, until: 0, fromSeq: seq };
      return outcome;
    }
    // Requests the key never sent use its quota (another client): keep to what the server says is left until its reset.
    const until = answer.resetAt ?? answer.at + (answer.windowMs ?? shortestWindow(k.rulesUsed));
    k.budget = { left: answer.remaining - (k.nextSeq - seq - 1), until, fromSeq: seq };
    if (answer.remaining > 0 || until <= k.pausedUntil) return outcome;
    // A pause the log enforces anyway (within the header's resolution) is not worth a probe.
    const logHolds = Math.max(0, ...states.map((s) => ruleWait(s, answer.at).at));
    if (until <= logHolds + HEADER_RESOLUTION_MS) return outcome;
    hold(k, until);
    return { ...outcome, paused: { until, reason: 'remaining' } };
  };

  return {
    takesLearntRules: true,
    acquire({ key, endpoint, now, rules, concurrency, leaseMs, tokenExchange, waiting = 0 }) {
      const k = touch(key, now);
      const states = statesFor(k, rules);
      let keyWait = k.pausedUntil;
      // A probe whose lease ran out without an answer ends: the next request probes instead. A probe still due a window
      // past its pause would meet a server with nothing of the key left to count: none is needed.
      if (typeof k.probe === 'object' && now >= k.probe.until) k.probe = 'due';
      const quota = k.quota;
      const inFlight = states[0]?.pending.size ?? 0;
      // A followed quota's next epoch starts with a request sent alone, once the last epoch's reset is past and what was
      // sent in it is answered (a bucket's reset is its next token, which a request still on its way may take). With a
      // refill search, an epoch that found all back keeps one request back while others wait, to start the next early
      // (one that found some back is a bucket refilling as it goes, or a window partly free: it goes on as answers come).
      const earlyAt = quota && k.refill ? quota.startedAt + earlyAfter(k.refill) : Number.POSITIVE_INFINITY;
      const kept = quota?.allBack && keepsBack(k.refill) && waiting > 0 && earlyAt < quota.until ? 1 : 0;
      const early = quota !== undefined && kept > 0 && now < quota.until && now >= earlyAt && quota.floor - inFlight === kept;
      if (quota && (now >= quota.until || early)) {
        if (inFlight > 0) keyWait = Math.max(keyWait, states[0]?.pending.last ?? now);
        else k.probe ??= 'due';
      } else if (k.probe === 'due' && now >= k.pausedUntil + longestWindow(rules)) k.probe = undefined;
      if (quota && now < quota.until && !early && quota.floor - inFlight < 1 + kept)
        keyWait = Math.max(keyWait, quota.floor - inFlight < 1 ? quota.until : Math.min(quota.until, earlyAt));
      if (typeof k.probe === 'object') keyWait = Math.max(keyWait, k.probe.until);
      if (now < k.budget.until && k.budget.left < 1) keyWait = Math.max(keyWait, k.budget.until);
      for (const state of states) {
        settle(state, now);
        keyWait = Math.max(keyWait, ruleWait(state, now).at);
      }
      if (keyWait > now) return { ok: false, retryAt: keyWait, blocked: 'key' };
      // Without a cap no slot is kept: nothing would read it.
      const slots = concurrency < Number.POSITIVE_INFINITY ? slotsOf(k, endpoint, now) : undefined;
      if (slots && slots.length >= concurrency) return { ok: false, retryAt: slots[0] as number, blocked: 'endpoint' };

      // Nothing else in flight: the key's (counted by its first rule), or without rules, the endpoint's.
      const alone = states[0] ? states[0].pending.size === 0 : !slots?.length;
      const seq = k.nextSeq++;
      if (quota && (now >= quota.until || early)) k.quota = newEpoch(seq, Number.POSITIVE_INFINITY, now, early ? quota : undefined);
      topSeq = Math.max(topSeq, k.nextSeq);
      const slotEnd = now + leaseMs;
      if (slots) take(slots, slotEnd);
      k.budget.left--;
      if (k.probe === 'due') k.probe = { seq, until: slotEnd };
      const counts = !(tokenExchange && k.exchangeCounted === false);
      if (counts) for (const state of states) state.pending.add(seq, latestCount(state.rule, now, leaseMs));
      const exchange: Exchange | undefined = tokenExchange ? { seq, sentAt: now, countedAt: [] } : undefined;
      if (exchange) k.lastExchange = exchange;

      const end = (countedBy: number) => {
        if (slots) free(slots, slotEnd, countedBy);
        if (typeof k.probe === 'object' && k.probe.seq === seq) k.probe = undefined;
        if (!counts) return;
        for (let i = 0; i < states.length; i++) {
          const state = states[i] as RuleState;
          const latest = latestCount(state.rule, now, leaseMs);
          if (state.pending.delete(seq)) {
            if (countedBy === Number.NEGATIVE_INFINITY) continue;
            record(state, Math.min(latest, countedBy));
            if (exchange) exchange.countedAt[i] = Math.min(latest, countedBy);
          } else if (exchange) exchange.countedAt[i] ??= latest;
        }
      };
      return {
        ok: true,
        seq,
        alone,
        release(countedBy, answer) {
          end(countedBy);
          return answer ? learn(key, k, seq, answer) : undefined;
        },
        observe: (answer) => learn(key, k, seq, answer),
      };
    },

    pause(key, until, now, rules) {
      const k = touch(key, now);
      statesFor(k, rules);
      if (until <= k.pausedUntil) return 0;
      hold(k, until);
      return until;
    },

    get size() {
      return keys.size;
    },

    prune(now) {
      for (const [key, k] of keys) if (idle(k, now)) keys.delete(key);
      return keys.size;
    },

    stateOf(key) {
      const k = keys.get(key);
      if (!k) return undefined;
      return {
        pausedUntil: k.pausedUntil,
        tokenExchangeCounted: k.exchangeCounted,
        rules: k.rules.map((state) => ({
          limit: state.rule.limit,
          windowMs: state.rule.windowMs,
          entries: state.kind === 'log' ? state.entries.length : state.ahead.length,
          inFlight: state.pending.size,
          assumedFull: state.kind === 'log' ? state.assumed !== undefined : state.assumedArrival > Number.NEGATIVE_INFINITY,
        })),
      };
    },
  };
}
