import type { GeneratorFn } from 'cockatiel';

/**
 * cockatiel's `decorrelatedJitterGenerator` (Polly's DecorrelatedJitterV2), drawing from `random` instead of
 * `Math.random` so tests and callers can make the jitter deterministic. cockatiel's own generator reads
 * `Math.random` directly, so it cannot honour an injected source.
 */
export function decorrelatedJitter(random: () => number): GeneratorFn<[number, number]> {
  return (state, options) => {
    const [attempt, previous] = state ?? [0, 0];
    const t = attempt + random();
    const next = options.exponent ** t * Math.tanh(Math.sqrt(4 * t));
    const delay = Number.isFinite(next) ? (Math.max(0, next - previous) / 1.4) * options.initialDelay : options.maxDelay;
    return [Math.min(delay, options.maxDelay), [attempt + 1, next]];
  };
}
