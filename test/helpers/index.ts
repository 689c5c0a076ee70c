import type { EventBus, EventName, SluiceEvents } from '@sluice/core';
import type { TestClock } from '@sluice/core/testing';
import * as assert from 'uvu/assert';

/** Awaits `promise` and asserts it rejects; returns the reason so the test can inspect it. */
export async function rejects(
  promise: Promise<unknown>,
  check?: ((error: unknown) => boolean) | (new (...args: never[]) => unknown),
  message?: string,
): Promise<unknown> {
  let settled = false;
  let reason: unknown;
  try {
    await promise;
    settled = true;
  } catch (error) {
    reason = error;
  }
  if (settled) assert.unreachable(message ?? 'expected the promise to reject, it resolved');
  if (check) {
    const source = Function.prototype.toString.call(check);
    const isClass = /^class[\s{]/.test(source) || source.includes('[native code]');
    const ok = isClass ? reason instanceof (check as new (...args: never[]) => unknown) : (check as (error: unknown) => boolean)(reason);
    assert.ok(ok, message ?? `unexpected rejection: ${String(reason)}`);
  }
  return reason;
}

/** A promise that tells whether it has settled yet, for assertions about waiting. */
export function track<T>(promise: Promise<T>): {
  promise: Promise<T>;
  settled: () => boolean;
  value: () => T | undefined;
  error: () => unknown;
} {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    (e) => {
      done = true;
      error = e;
    },
  );
  return { promise, settled: () => done, value: () => value, error: () => error };
}

/** Fails the test if an unhandled rejection happens while `fn` runs (and a tick after). */
export async function noUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.equal(seen.length, 0, `unhandled rejections: ${seen.map(String).join('; ')}`);
}

/**
 * Moves the virtual clock in steps until `promise` settles; fails past `limitMs` of virtual time. While no timer
 * waits, the pipeline is busy with real work (hashing the key, reading bodies): time stands still until it is done.
 */
export async function drive<T>(clock: TestClock, promise: Promise<T>, { stepMs = 100, limitMs = 3_600_000 } = {}): Promise<T> {
  const t = track(promise);
  for (let waited = 0, idle = 0; !t.settled(); ) {
    if (clock.pending === 0) {
      if (++idle > 5_000) throw new Error('stuck: nothing waits on the clock and the promise has not settled');
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    idle = 0;
    if (waited > limitMs) throw new Error(`still pending after ${limitMs} ms of virtual time`);
    await clock.advance(stepMs);
    waited += stepMs;
  }
  return t.promise;
}

/** Records every event on `bus`, in order; `of(type)` lists the payloads of one type. */
export function recordEvents(bus: EventBus) {
  const events: Array<{ type: EventName; payload: unknown }> = [];
  bus.on('*', (type, payload) => events.push({ type, payload }));
  const of = <K extends EventName>(type: K) => events.filter((e) => e.type === type).map((e) => e.payload as SluiceEvents[K]);
  return { events, of };
}
