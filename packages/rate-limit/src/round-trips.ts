/** Round trips a key's margin is judged on; before that many, answered requests are dated at their answers. */
const MIN_SAMPLES = 8;
/** Recent round trips kept per key, for their spread. */
const RECENT = 16;

interface KeyRoundTrips {
  fastest: number;
  recent: number[];
  seen: number;
}

/**
 * How much earlier than its answer an answered request of a key can be dated: the server counted it on arrival, so
 * at its answer less the way back; and the next request is no earlier at the server than its send plus the way there.
 * Only the sum of the two legs matters, and no round trip shows it: a fast one may pair a slow way there with a quick
 * way back. So the margin is the fastest round trip less twice the spread of recent ones (what a leg's noise can hide),
 * and at most half the fastest (the way back, if the way there fell to nothing): 0 while round trips spread half as wide
 * as they are long, half a steady round trip where they do not. Slower legs later only make the dating safer.
 *
 * Only requests sent alone (nothing else of the key in flight) teach it. A burst waits in the server's queue before it
 * is counted, every request about as long: round trips steady and long, then an idle server counts the next at once.
 */
export function createRoundTrips(maxKeys: number) {
  const keys = new Map<string, KeyRoundTrips>();
  return {
    /** Takes the key's new round trip into account if its request went `alone`; returns the key's margin. */
    margin(key: string, roundTrip: number, alone: boolean): number {
      let k = keys.get(key);
      if (!k && !alone) return 0;
      if (!k) {
        // Past the bound every key starts afresh (with no margin) rather than one growing map.
        if (keys.size >= maxKeys) keys.clear();
        keys.set(key, (k = { fastest: roundTrip, recent: [], seen: 0 }));
      }
      if (alone) {
        k.fastest = Math.min(k.fastest, roundTrip);
        k.recent[k.seen++ % RECENT] = roundTrip;
      }
      if (k.seen < MIN_SAMPLES) return 0;
      let slowest = 0;
      for (const roundTrip of k.recent) slowest = Math.max(slowest, roundTrip);
      // Twice the spread seen: a few round trips can show less of it than their legs hold (legs of 0-1 ms each, eight
      // round trips between 0.8 and 1.2 ms, then a way back of 0.1 and a way there of 0.2 ms: 0.3 < 0.4).
      const spread = slowest - k.fastest;
      return Math.max(0, Math.min(k.fastest / 2, k.fastest - 2 * spread));
    },
  };
}
