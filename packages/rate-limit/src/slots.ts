/**
 * An endpoint's held slots as the instants they free at, ascending: taking, ending and expiring one costs a binary
 * search (and a move of what follows), so an endpoint of 10,000 slots costs little more per request than one of 5.
 */
export type Slots = number[];

/** The index of the first slot freeing after `at` (`strictly`), or at or after it. */
const firstFrom = (slots: Slots, at: number, strictly = false) => {
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const end = slots[mid] as number;
    if (end < at || (strictly && end === at)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** Drops the slots free by `now`; returns how many are held. */
export function heldAt(slots: Slots, now: number): number {
  const gone = firstFrom(slots, now, true);
  if (gone) slots.splice(0, gone);
  return slots.length;
}

export function take(slots: Slots, end: number): void {
  slots.splice(firstFrom(slots, end), 0, end);
}

/** Frees a slot taken to `end` at `at` instead (never later); `-Infinity` gives it back at once. */
export function free(slots: Slots, end: number, at: number): void {
  const i = firstFrom(slots, end);
  if (slots[i] !== end) return;
  slots.splice(i, 1);
  if (at > Number.NEGATIVE_INFINITY) take(slots, Math.min(end, at));
}
