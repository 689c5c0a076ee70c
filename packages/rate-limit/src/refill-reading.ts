/**
 * After a start pushed past START_IN_FLIGHT meets its first 429 (stating no wait, or one no longer than a step of the
 * rate it measured: a longer one says the server is full until then), the requests it had sent after the one refused
 * are answered during the pause. Where the server took some of them and refused one sent no sooner than one it took, it
 * frees steadily (a bucket refilling, a log replaying what it took a window before): about as many per round trip as it
 * took of them. The requests in flight are then held to those and one more, one more per `growthAnswers` answers
 * without a 429 after the pause, up to the pushed start's: a rate measured with a bucket's burst in it is refused a
 * request or two at a time, not with all the start had in flight. Else (all taken, as a window that begins anew; none,
 * as a server full until its stated wait, or refilling slower than one a round trip) the reading shows nothing, and the
 * pushed start's count holds (the estimate ramps up to it from one: see `estimate` in learn.ts).
 */
export interface RefillReading {
  /** When the request the first 429 refused was sent, and when its pause ends: the reading is of requests sent between. */
  refusedSentAt: number;
  pauseEnd: number;
  taken: number;
  firstTakenSentAt: number;
  lastRefusedSentAt: number;
  /** Answers without a 429 after the pause, toward the next one more in flight. */
  answeredSincePause: number;
  grown: number;
}

export const startReading = (refusedSentAt: number, pauseEnd: number): RefillReading => ({
  refusedSentAt,
  pauseEnd,
  taken: 0,
  firstTakenSentAt: Number.POSITIVE_INFINITY,
  lastRefusedSentAt: Number.NEGATIVE_INFINITY,
  answeredSincePause: 0,
  grown: 0,
});

/** Whether the reading is of a request sent at `sentAt`: after the one refused, before the pause ended. */
export const readsFrom = (reading: RefillReading, sentAt: number) => sentAt > reading.refusedSentAt && sentAt < reading.pauseEnd;

/** Notes an answer to a request the reading is of (`readsFrom`). */
export function noteDuringPause(reading: RefillReading, sentAt: number, taken: boolean) {
  if (taken) {
    reading.taken++;
    reading.firstTakenSentAt = Math.min(reading.firstTakenSentAt, sentAt);
  } else reading.lastRefusedSentAt = Math.max(reading.lastRefusedSentAt, sentAt);
}

/** Notes an answer without a 429 to a request sent after the pause: one more in flight every `growthAnswers`. */
export function noteAfterPause(reading: RefillReading, growthAnswers: number) {
  if (++reading.answeredSincePause < growthAnswers) return;
  reading.answeredSincePause = 0;
  reading.grown++;
}

/** The requests in flight the reading allows (the pushed start's count bounds it too); undefined: it shows nothing. */
export function readingCap(reading: RefillReading): number | undefined {
  const steady = reading.taken > 0 && reading.lastRefusedSentAt >= reading.firstTakenSentAt;
  return steady ? reading.taken + 1 + reading.grown : undefined;
}
