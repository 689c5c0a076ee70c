import type { ConcurrencyScope } from './options.js';

/** The concurrency cap's notion of endpoint: the path as sent, method and path, or the route template. */
export function endpointOf(scope: ConcurrencyScope, method: string, path: string, route: string): string {
  if (scope === 'method+path') return `${method} ${path}`;
  if (scope === 'route') return route;
  return path;
}

export interface Slot {
  /** Requests in flight for this key and endpoint, this one included. */
  readonly count: number;
  /** Frees the slot; calling it again does nothing. */
  release(): void;
}

/** Requests in flight per key and endpoint, capped at `max`. Entries are dropped at zero, so memory is bounded. */
export function createConcurrency(max: number) {
  const inFlight = new Map<string, number>();
  return {
    /** Takes a slot, or returns undefined when `max` are already in flight. */
    acquire(keyId: string, endpoint: string): Slot | undefined {
      const id = `${keyId}\n${endpoint}`;
      const current = inFlight.get(id) ?? 0;
      if (current >= max) return undefined;
      inFlight.set(id, current + 1);
      let released = false;
      return {
        count: current + 1,
        release() {
          if (released) return;
          released = true;
          const left = (inFlight.get(id) ?? 1) - 1;
          if (left <= 0) inFlight.delete(id);
          else inFlight.set(id, left);
        },
      };
    },
    /** Requests in flight across keys and endpoints. */
    total(): number {
      let n = 0;
      for (const v of inFlight.values()) n += v;
      return n;
    },
  };
}

export type Concurrency = ReturnType<typeof createConcurrency>;
