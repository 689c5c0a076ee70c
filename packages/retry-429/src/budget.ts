import type { Clock } from '@sluice/core';

/** Caps retries as a share of recent requests, so a storm of 429s does not multiply the load. */
export interface RetryBudget {
  /** Retries allowed per request in the window: 0.2 allows one retry per five requests. */
  ratio: number;
  /** Retries allowed per second on top of `ratio`, so a quiet client can still retry. @default 1 */
  minPerSecond?: number;
  /** How far back requests and retries are counted, in milliseconds. @default 10_000 */
  windowMs?: number;
}

export interface Budget {
  /** Counts a call. */
  request(): void;
  /** Takes one retry from the budget; false when none is left. */
  retry(): boolean;
}

const SLOTS = 10;

// A ring of slots on the clock: memory stays fixed at any rate, and no timer is needed to forget old counts.
export function createBudget(budget: RetryBudget, clock: Clock): Budget {
  const windowMs = budget.windowMs ?? 10_000;
  const allowance = (budget.minPerSecond ?? 1) * (windowMs / 1000);
  const slotMs = windowMs / SLOTS;
  const slot = (epoch: number) => ({ epoch, requests: 0, retries: 0 });
  const slots = Array.from({ length: SLOTS }, () => slot(-1));
  const current = () => {
    const epoch = Math.floor(clock.now() / slotMs);
    const i = epoch % SLOTS;
    if (slots[i]?.epoch !== epoch) slots[i] = slot(epoch);
    return slots[i] as ReturnType<typeof slot>;
  };
  return {
    request: () => {
      current().requests++;
    },
    retry() {
      const now = current();
      let requests = 0;
      let retries = 0;
      for (const s of slots) {
        if (s.epoch > now.epoch - SLOTS) {
          requests += s.requests;
          retries += s.retries;
        }
      }
      if (retries >= budget.ratio * requests + allowance) return false;
      now.retries++;
      return true;
    },
  };
}
