import type { Parameters } from 'fast-check';

/** Cases per property: thousands in CI; SLUICE_FUZZ_RUNS raises it for a nightly-sized run. */
export const runs = Number(process.env.SLUICE_FUZZ_RUNS ?? 2000);

export const params: Parameters<unknown> = { numRuns: runs };

/** For properties that drive a whole pipeline against the simulator per case: a tenth as many cases. */
export const heavy: Parameters<unknown> = { numRuns: Math.max(1, Math.ceil(runs / 10)) };
