import type { NamedQuotas } from './learn.js';
import { remember, tally, touch } from './recent.js';

/** Keys whose named quotas are kept; past it the least recently used is forgotten (its requests go under the key again). */
const MAX_KEYS = 10_000;
/** Endpoints per key whose quota is kept (paths with ids in them would pile up); past it the oldest is forgotten. */
const MAX_ENDPOINTS = 1000;
/** Endpoints under another quota than the fallback that a fleet shares (GitHub has a handful: search, graphql, ...). */
const MAX_SHARED = 100;

interface KeyScopes {
  /** The quota each endpoint's last named answer was counted against. */
  byEndpoint: Map<string, string>;
  /** Endpoints per quota: an endpoint not seen yet goes under the quota most of them go under. */
  endpoints: Map<string, number>;
  fallback: string;
}

/**
 * The quotas a server names for each key (`X-RateLimit-Resource`: GitHub's `core` and `search` are counted apart under
 * one token). Each is learnt and counted apart, under the store key `<key>#<name>`, so a small quota never holds back
 * the requests of a large one. An endpoint goes under the quota its last answer named; one not seen yet, under the
 * quota most endpoints of its key go under. A key whose answers name none goes under the key itself, as before.
 */
export function createScopes() {
  const keys = new Map<string, KeyScopes>();
  const storeKey = (key: string, scope: string) => `${key}#${scope}`;

  const get = (key: string): KeyScopes | undefined => touch(keys, key);
  const made = (key: string, fallback: string): KeyScopes =>
    remember(keys, key, { byEndpoint: new Map(), endpoints: new Map(), fallback }, MAX_KEYS);
  const count = (scopes: KeyScopes, scope: string, by: number) => tally(scopes.endpoints, scope, by);

  const mostUsed = (scopes: KeyScopes) => {
    let best = scopes.fallback;
    for (const [scope, n] of scopes.endpoints) if (n > (scopes.endpoints.get(best) ?? 0)) best = scope;
    return best;
  };

  // Puts `endpoint` under `scope`; whether that changed where a request of the key goes but for the fallback's endpoints.
  const place = (scopes: KeyScopes, endpoint: string, scope: string): boolean => {
    const before = scopes.byEndpoint.get(endpoint);
    if (before === scope) return false;
    const fallback = scopes.fallback;
    if (before !== undefined) count(scopes, before, -1);
    scopes.byEndpoint.delete(endpoint);
    if (scopes.byEndpoint.size >= MAX_ENDPOINTS) {
      const [oldest, itsScope] = scopes.byEndpoint.entries().next().value as [string, string];
      scopes.byEndpoint.delete(oldest);
      count(scopes, itsScope, -1);
    }
    scopes.byEndpoint.set(endpoint, scope);
    count(scopes, scope, 1);
    scopes.fallback = mostUsed(scopes);
    return scopes.fallback !== fallback || scope !== scopes.fallback || (before ?? fallback) !== fallback;
  };

  return {
    /** Whether an answer (or the fleet) placed `endpoint` of the key under a quota; false too for a key that names none. */
    knows: (key: string, endpoint: string) => keys.get(key)?.byEndpoint.has(endpoint) === true,
    /** The store key a request of `endpoint` goes under now. */
    storeKeyOf(key: string, endpoint: string): string {
      const scopes = get(key);
      return scopes ? storeKey(key, scopes.byEndpoint.get(endpoint) ?? scopes.fallback) : key;
    },
    /**
     * An answer of `endpoint` named the quota `scope`: the store key it was counted under, and whether where the key's
     * requests go changed (a fleet is told).
     */
    named(key: string, endpoint: string, scope: string): { storeKey: string; changed: boolean } {
      const known = get(key);
      // The key's first named answer changes where all its requests go.
      const changed = place(known ?? made(key, scope), endpoint, scope) || !known;
      return { storeKey: storeKey(key, scope), changed };
    },
    /** Where the key's requests go, as a fleet shares it: the fallback, and the endpoints that go under another quota. */
    quotasOf(key: string): NamedQuotas | undefined {
      const scopes = keys.get(key);
      if (!scopes) return undefined;
      const endpoints: Record<string, string> = {};
      let shared = 0;
      for (const [endpoint, scope] of scopes.byEndpoint)
        if (scope !== scopes.fallback && shared++ < MAX_SHARED) endpoints[endpoint] = scope;
      return { fallback: scopes.fallback, endpoints };
    },
    /** Where another process of the fleet saw the key's requests go: its fallback, and the endpoints it lists. */
    adopt(key: string, { fallback, endpoints }: NamedQuotas) {
      const scopes = get(key) ?? made(key, fallback);
      for (const [endpoint, scope] of Object.entries(endpoints)) place(scopes, endpoint, scope);
      if (!scopes.endpoints.size || (scopes.endpoints.get(fallback) ?? 0) >= (scopes.endpoints.get(scopes.fallback) ?? 0))
        scopes.fallback = fallback;
    },
  };
}
