import { type AnnouncedQuota, isQuotaName } from '@sluice/core/http';
import { remember, tally, touch } from './recent.js';

/** Keys watched; past it the least recently used is forgotten. */
const MAX_KEYS = 10_000;
/**
 * Endpoints per key whose run is kept (paths with ids in them would pile up); past it the one whose run started first is
 * forgotten. Two endpoints side by side are enough to tell, and a key that never splits keeps its runs: 64 of them bound
 * what 10,000 keys hold.
 */
const MAX_ENDPOINTS = 64;
/** Endpoints per split key whose quota is kept, as the limiter's quotas keep them (`scopes.ts`); past it the oldest is forgotten. */
const MAX_PLACED = 1000;
/** Answers in a row of one endpoint that state its quota before it counts as that endpoint's own. */
const RUN_ANSWERS = 3;

/** An endpoint's answers in a row that stated one quota: the first of them answered, the last of them sent. */
interface Run {
  signature: string;
  firstAt: number;
  lastSentAt: number;
  answers: number;
}

interface KeyRuns {
  runs: Map<string, Run>;
  /** Endpoints per quota stated: while there is one, no endpoint's run needs comparing with the others. */
  signatures: Map<string, number>;
  /**
   * Once two endpoints were seen stating their own quotas side by side, the quota each endpoint's answers name: the one
   * they state, once RUN_ANSWERS in a row state it (one odd answer moves no endpoint to a quota it may not be under).
   */
  placed?: Map<string, string>;
}

/** An answer, and the quota it states: a limit (and window) of X-RateLimit-* or RateLimit, or `RateLimit-Policy`. */
export interface StatedAnswer {
  sentAt: number;
  at: number;
  limit?: number;
  windowMs?: number;
  announced: AnnouncedQuota[];
}

/** The quota an answer states, as a name: its limit, and each window where stated (`stated-10w2000`). */
export function statedQuotaName(limit: number | undefined, windowMs: number | undefined, announced: AnnouncedQuota[]) {
  const signature = announced.length
    ? [...announced]
        .sort((a, b) => a.windowMs - b.windowMs || a.limit - b.limit)
        .map((q) => `${q.limit}w${q.windowMs}`)
        .join('.')
    : limit === undefined
      ? undefined
      : windowMs === undefined
        ? String(limit)
        : `${limit}w${windowMs}`;
  // A quota's name is part of a store key, and a fleet shares it: one too long (many policies) goes unnamed.
  const name = signature && `stated-${signature}`;
  return isQuotaName(name) ? name : undefined;
}

/**
 * Quotas a server states per endpoint without naming them (an API gateway's per-route limits, an API with a limit per
 * method): the key's endpoints state different limits at the same time. Each quota stated is then learnt and counted
 * apart, named after what it states (`statedQuotaName`), so a small quota never holds back a large one and answers of
 * one never move the other. Endpoints that state the same quota share it: an endpoint with ids in its path is counted
 * as one with its siblings, as the server most likely counts it.
 *
 * "Side by side" guards against a quota that changed (a plan upgraded): two endpoints each stated their quota in
 * RUN_ANSWERS answers in a row, and each was sent a request, answered so, after the other's first such answer came.
 * One quota changing once cannot show that: a request sent after the change states the new quota, at any endpoint.
 */
export function createStatedQuotas() {
  const keys = new Map<string, KeyRuns>();

  const get = (key: string): KeyRuns => touch(keys, key) ?? remember(keys, key, { runs: new Map(), signatures: new Map() }, MAX_KEYS);

  const sideBySide = (a: Run, b: Run) =>
    a.signature !== b.signature && b.answers >= RUN_ANSWERS && a.firstAt < b.lastSentAt && b.firstAt < a.lastSentAt;

  const forget = (k: KeyRuns, endpoint: string) => {
    const run = k.runs.get(endpoint);
    if (!run) return;
    k.runs.delete(endpoint);
    tally(k.signatures, run.signature, -1);
  };

  const note = (k: KeyRuns, endpoint: string, signature: string, sentAt: number, at: number): Run => {
    const run = k.runs.get(endpoint);
    if (run?.signature === signature) {
      run.answers++;
      run.lastSentAt = Math.max(run.lastSentAt, sentAt);
      return run;
    }
    forget(k, endpoint);
    if (k.runs.size >= MAX_ENDPOINTS) forget(k, k.runs.keys().next().value as string);
    const fresh = { signature, firstAt: at, lastSentAt: sentAt, answers: 1 };
    k.runs.set(endpoint, fresh);
    tally(k.signatures, signature, 1);
    return fresh;
  };

  // The quota an answer of `endpoint` names, once the key is split: the one it stated, where its endpoint has none yet
  // or stated it RUN_ANSWERS times in a row; else the one its endpoint is under.
  const placedUnder = (placed: Map<string, string>, endpoint: string, name: string, run: Run) => {
    const current = placed.get(endpoint);
    if (current !== undefined && current !== name && run.answers < RUN_ANSWERS) return current;
    return remember(placed, endpoint, name, MAX_PLACED);
  };

  return {
    /**
     * An answer of `endpoint`, sent at `sentAt` and answered at `at`: the name of the quota it stated
     * (`statedQuotaName`) where the key's endpoints state quotas of their own, else undefined (the key is one quota).
     */
    observe(key: string, endpoint: string, { sentAt, at, limit, windowMs, announced }: StatedAnswer): string | undefined {
      const name = statedQuotaName(limit, windowMs, announced);
      if (!name) return undefined;
      const k = get(key);
      const run = note(k, endpoint, name, sentAt, at);
      if (k.placed) return placedUnder(k.placed, endpoint, name, run);
      if (run.answers < RUN_ANSWERS || k.signatures.size < 2) return undefined;
      for (const [other, itsRun] of k.runs) {
        if (other === endpoint || !sideBySide(run, itsRun)) continue;
        k.placed = new Map([[endpoint, name]]);
        k.runs.clear();
        k.signatures.clear();
        return name;
      }
      return undefined;
    },
  };
}
