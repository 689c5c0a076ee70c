// Types of scale-servers.mjs, for the TypeScript suites that use its server models (test/properties/scale.test.ts).
export type Kind = 'sliding' | 'fixed' | 'bucket';
export type HeaderForm = 'none' | 'x-ratelimit' | 'ietf';
export interface Quota {
  remaining: number;
  resetAt: number;
}
export function counter(kind: Kind, limit: number, windowMs: number): { admit(now: number): boolean; quota(now: number): Quota };
export function quotaHeaders(form: HeaderForm, limit: number, windowMs: number, quota: Quota, now: number): Record<string, string>;
export function leastTime(kind: Kind, count: number, limit: number, windowMs: number, latency: number): number;
