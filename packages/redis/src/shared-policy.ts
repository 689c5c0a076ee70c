import type { LearntPolicy, SharedPolicy } from '@sluice/rate-limit';

const SOURCES: ReadonlySet<string> = new Set(['quota', 'announced', 'limit-and-reset', 'refusals']);
const MAX_EVIDENCE = 500;

/** The JSON a shared policy is kept as: what was learnt and from what. */
export const encodePolicy = ({ policy, evidence }: { policy: LearntPolicy; evidence: string }) =>
  JSON.stringify({ source: policy.source, rules: policy.rules.map(({ limit, windowMs }) => ({ limit, windowMs })), evidence });

const isLimit = (r: unknown): r is { limit: number; windowMs: number } => {
  const { limit, windowMs } = (r ?? {}) as Record<string, unknown>;
  return Number.isInteger(limit) && (limit as number) >= 1 && typeof windowMs === 'number' && windowMs > 0 && Number.isFinite(windowMs);
};

/** A kept policy read back; undefined when Redis holds something else (another version's, or damaged), which is ignored. */
export function decodePolicy(stamp: unknown, json: unknown): SharedPolicy | undefined {
  const n = Number(stamp);
  if (!Number.isSafeInteger(n) || n < 1 || typeof json !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const { source, rules, evidence } = (value ?? {}) as Record<string, unknown>;
  if (typeof source !== 'string' || !SOURCES.has(source) || !Array.isArray(rules) || !rules.every(isLimit)) return undefined;
  if ((source === 'quota') !== (rules.length === 0)) return undefined;
  const policy: LearntPolicy = {
    source: source as LearntPolicy['source'],
    rules: rules.map(({ limit, windowMs }) => ({ limit, windowMs })),
  };
  return { stamp: n, policy, evidence: typeof evidence === 'string' ? evidence.slice(0, MAX_EVIDENCE) : '' };
}
