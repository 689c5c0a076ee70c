import type { LearntPolicy } from './learn.js';

/** Why a queued request was rejected. */
export type RejectReason = 'queue-full' | 'timeout' | 'aborted' | 'closed' | 'error';

declare module '@sluice/core' {
  interface SluiceEvents {
    /** A request waits; `queued` is the length of its (key, endpoint) queue, itself included. */
    'rate-limit:queued': { key: string; endpoint: string; queued: number };
    /** A request got its slot and is sent now, after `waitedMs` in the queue (0 when it went at once). */
    'rate-limit:acquired': { key: string; endpoint: string; waitedMs: number };
    /** The whole key waits until `until` (epoch ms): the server answered 429, or said no request is left until a reset. */
    'rate-limit:paused': { key: string; until: number; delayMs: number; reason: '429' | 'remaining' };
    /**
     * The limiter learnt something of the server from its answers, and says from what (`evidence`): whether it counts
     * token exchanges against the key (`tokenExchangeCounted`: `true` at first, as the safe guess; `false` once an answer
     * shows it left one out), or, with `rules: 'auto'`, the key's new `policy` (with `endpoint`: a cap on that endpoint's
     * requests in flight, in `policy.concurrency`).
     */
    'rate-limit:learned': { key: string; evidence: string; tokenExchangeCounted?: boolean; policy?: LearntPolicy; endpoint?: string };
    /** A queued request left the queue without being sent. */
    'rate-limit:rejected': { key: string; endpoint: string; reason: RejectReason };
  }
}
