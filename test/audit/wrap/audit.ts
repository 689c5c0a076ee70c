import type { EventBus } from '../../../packages/core/src/index.js';
import type { Collector } from '../collector.js';

/** The collector the preload installed. */
export const audit = (globalThis as Record<symbol, unknown>)[Symbol.for('sluice.audit')] as Collector;

const watched = new WeakSet<object>();

/** Reports every event emitted through `bus.emit` (every package emits through it) to the audit. */
export function watchBus<T extends EventBus>(bus: T): T {
  if (typeof bus !== 'object' || bus === null || watched.has(bus)) return bus;
  watched.add(bus);
  const emit = bus.emit;
  bus.emit = function auditedEmit(this: unknown, type: Parameters<EventBus['emit']>[0], payload: Parameters<EventBus['emit']>[1]) {
    audit.event(type, payload);
    return emit.call(this, type, payload);
  } as EventBus['emit'];
  return bus;
}

/** A key or a key provider: the key is remembered whenever it is read. */
export function watchKey<T>(value: T, source: string): T {
  if (typeof value !== 'function') {
    audit.secret(value, source);
    return value;
  }
  const provider = value as unknown as (...args: unknown[]) => unknown;
  return function auditedProvider(this: unknown, ...args: unknown[]) {
    const key = provider.apply(this, args);
    if (key && typeof (key as Promise<unknown>).then === 'function') {
      return (key as Promise<unknown>).then((k) => {
        audit.secret(k, source);
        return k;
      });
    }
    audit.secret(key, source);
    return key;
  } as unknown as T;
}
