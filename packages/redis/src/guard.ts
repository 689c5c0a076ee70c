import type { EventBus } from '@sluice/core';
import type { ScriptClient } from './client.js';
import { isRedisUnavailableError, RedisUnavailableError, type StoreName } from './errors.js';

export type OnError = 'fail-open' | 'fail-closed';

export interface GuardOptions {
  client: ScriptClient;
  store: StoreName;
  onError: OnError;
  commandTimeoutMs: number;
  retryRedisMs: number;
  bus: EventBus | undefined;
  /** Every script the store runs: their SHA-1s are computed together, once. */
  scripts: readonly string[];
}

export interface Guard {
  /** Runs a script within `commandTimeoutMs`; a failure marks Redis down and rejects with `RedisUnavailableError`. */
  call(operation: string, script: string, keys: string[], args: string[], now: number): Promise<unknown>;
  /** True while Redis is taken as down and its next try is not due: callers fall back (or fail) at once, without a round trip. */
  skip(now: number): boolean;
  /** The error for a call skipped while Redis is down. */
  down(operation: string): RedisUnavailableError;
  readonly open: boolean;
}

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** Timeouts, the down/recovered state and its events, and EVALSHA with EVAL when the server lacks the script. */
export function createGuard(o: GuardOptions): Guard {
  // One promise for every SHA-1, so calls keep the order in which they were made.
  let hashes: Promise<Map<string, string>> | undefined;
  const shaOf = () =>
    (hashes ??= Promise.all(o.scripts.map((s) => crypto.subtle.digest('SHA-1', new TextEncoder().encode(s)))).then(
      (digests) => new Map(o.scripts.map((s, i) => [s, hex(digests[i] as ArrayBuffer)])),
    ));
  let downAt: number | undefined;
  let retryAt = 0;
  const open = o.onError === 'fail-open';

  const exec = async (script: string, keys: string[], args: string[], signal: AbortSignal) => {
    const sha1 = (await shaOf()).get(script) as string;
    try {
      return await o.client.runSha(sha1, keys, args, signal);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return o.client.run(script, keys, args, signal);
    }
  };

  const failed = (operation: string, error: RedisUnavailableError, now: number) => {
    retryAt = now + o.retryRedisMs;
    if (downAt !== undefined) return;
    downAt = now;
    const reason = error.reason === 'timeout' ? 'timeout' : 'error';
    o.bus?.emit(open ? 'redis:fallback' : 'redis:unavailable', { store: o.store, operation, reason });
  };

  const succeeded = (now: number) => {
    if (downAt === undefined) return;
    const downMs = Math.max(0, now - downAt);
    downAt = undefined;
    o.bus?.emit('redis:recovered', { store: o.store, downMs });
  };

  return {
    open,
    skip: (now) => downAt !== undefined && now < retryAt,
    down: (operation) => new RedisUnavailableError(o.store, operation, 'down'),
    call(operation, script, keys, args, now) {
      return new Promise((resolve, reject) => {
        const abort = new AbortController();
        let settled = false;
        const fail = (error: unknown) => {
          settled = true;
          clearTimeout(timer);
          const e = isRedisUnavailableError(error) ? error : new RedisUnavailableError(o.store, operation, 'error', { cause: error });
          failed(operation, e, now);
          reject(e);
        };
        // After a blocked event loop the timer and the reply are due at once, and timers run first: one more turn of the
        // loop lets a reply that has already arrived win.
        const timer = setTimeout(
          () =>
            setTimeout(() => {
              if (settled) return;
              const error = new RedisUnavailableError(o.store, operation, 'timeout');
              abort.abort(error);
              fail(error);
            }, 0),
          o.commandTimeoutMs,
        );
        exec(script, keys, args, abort.signal).then(
          (value) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            succeeded(now);
            resolve(value);
          },
          (error) => settled || fail(error),
        );
      });
    },
  };
}
