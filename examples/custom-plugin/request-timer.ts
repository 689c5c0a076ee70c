import type { Interceptor } from '@sluice/core';
import { describeUrl } from '@sluice/core/http';

// A plugin adds its events to sluice's typed map; listeners get full types.
declare module '@sluice/core' {
  interface SluiceEvents {
    'timer:request-done': { method: string; url: string; status: number; durationMs: number };
    'timer:request-failed': { method: string; url: string; durationMs: number };
  }
}

export interface RequestTimerOptions {
  /** Report only requests slower than this. @default 0 */
  slowerThanMs?: number;
}

/** Measures each call on the pipeline's clock and reports it on the bus. */
export function requestTimer(options: RequestTimerOptions = {}): Interceptor {
  const threshold = options.slowerThanMs ?? 0;
  return {
    name: 'request-timer',
    async handle(request, next, { bus, clock }) {
      const started = clock.now();
      const method = request.method;
      const url = describeUrl(request.url);
      try {
        const response = await next(request);
        const durationMs = clock.now() - started;
        if (durationMs >= threshold) bus.emit('timer:request-done', { method, url, status: response.status, durationMs });
        return response;
      } catch (error) {
        bus.emit('timer:request-failed', { method, url, durationMs: clock.now() - started });
        throw error;
      }
    },
  };
}
