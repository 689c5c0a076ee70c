import { isQuotaName } from '@sluice/core/http';
import type { LearntPolicy, NamedQuotas, SharedPolicy } from '@sluice/rate-limit';

const SOURCES: ReadonlySet<string> = new Set(['quota', 'announced', 'limit-and-reset', 'sliding-log', 'refusals', 'named']);
const MAX_EVIDENCE = 500;
/** Endpoints a named policy lists at most, and their length. */
const MAX_ENDPOINTS = 100;
const MAX_ENDPOINT_LENGTH = 2048;

/** The JSON a shared policy is kept as: what was learnt and from what (with `'named'`, where each endpoint goes). */
export const encodePolicy = ({ policy, evidence }: { policy: LearntPolicy; evidence: string }) =>
  JSON.stringify({
    source: policy.source,
    rules: policy.rules.map(({ limit, windowMs }) => ({ limit, windowMs })),
    ...(policy.quotas ? { quotas: policy.quotas } : {}),
    evidence,
  });

/** Named quotas read back: a fallback name, and at most MAX_ENDPOINTS endpoints each under a name; else undefined. */
function decodeQuotas(value: unknown): NamedQuotas | undefined {
  const { fallback, endpoints } = (value ?? {}) as Record<string, unknown>;
  if (!isQuotaName(fallback) || typeof endpoints !== 'object' || endpoints === null || Array.isArray(endpoints)) return undefined;
  const listed = Object.entries(endpoints);
  if (listed.length > MAX_ENDPOINTS || !listed.every(([endpoint, name]) => endpoint.length <= MAX_ENDPOINT_LENGTH && isQuotaName(name)))
    return undefined;
  return { fallback, endpoints: Object.fromEntries(listed) };
}

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
  const { source, rules, quotas, evidence } = (value ?? {}) as Record<string, unknown>;
  if (typeof source !== 'string' || !SOURCES.has(source) || !Array.isArray(rules) || !rules.every(isLimit)) return undefined;
  if ((source === 'quota' || source === 'named') !== (rules.length === 0)) return undefined;
  const policy: LearntPolicy = {
    source: source as LearntPolicy['source'],
    rules: rules.map(({ limit, windowMs }) => ({ limit, windowMs })),
  };
  if (source === 'named') {
    const named = decodeQuotas(quotas);
    if (!named) return undefined;
    policy.quotas = named;
  }
  return { stamp: n, policy, evidence: typeof evidence === 'string' ? evidence.slice(0, MAX_EVIDENCE) : '' };
}
