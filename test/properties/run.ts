import type { TestClock } from '@sluice/core/testing';

/**
 * Runs the virtual clock until `done()` holds: fires timers in order, and lets promise chains and I/O settle between
 * them. Gives up (returns false) after `idleRounds` flushes with no timer pending and `done()` still false.
 */
export async function runUntil(clock: TestClock, done: () => boolean, idleRounds = 50): Promise<boolean> {
  for (let idle = 0; !done(); ) {
    await clock.flush();
    if (clock.pending > 0) {
      idle = 0;
      await clock.runAll();
    } else if (++idle > idleRounds) return false;
  }
  return true;
}
