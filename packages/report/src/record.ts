import type { EventBus } from '@sluice/core';

/** A payload field the log keeps: events carry no secret, and only plain values are kept (an `error` object is not). */
export type LoggedValue = string | number | boolean | null;

/** One bus event as the report reads it. */
export interface LoggedEvent {
  /** When it was emitted, in the clock's epoch milliseconds. */
  t: number;
  /** The event's name, like `rate-limit:acquired`. */
  type: string;
  /** Its payload's plain fields. */
  payload: Record<string, LoggedValue>;
  /** Requests waiting in rate-limit's queues just after it, when the recorder was given `waiting`. */
  waiting?: number;
}

export interface RecordOptions {
  /** Time source, in epoch milliseconds: the pipeline's clock. @default `Date.now` */
  now?: () => number;
  /** How many requests wait in rate-limit's queues now, like `() => client.interceptors.rateLimit.stats().queued`. @default undefined (no queue panel) */
  waiting?: () => number;
}

export interface EventRecording {
  /** The events so far, oldest first. */
  readonly log: LoggedEvent[];
  /** Stops recording; the log is kept. */
  stop(): void;
}

const plain = (value: unknown): value is LoggedValue =>
  value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));

/** Records every event of a pipeline's bus, with the time, for `renderReport()`. */
export function recordEvents(bus: EventBus, options: RecordOptions = {}): EventRecording {
  const now = options.now ?? Date.now;
  const log: LoggedEvent[] = [];
  const stop = bus.on('*', (type, payload) => {
    const fields: Record<string, LoggedValue> = {};
    for (const [name, value] of Object.entries(payload as object)) if (plain(value)) fields[name] = value;
    const entry: LoggedEvent = { t: now(), type, payload: fields };
    if (options.waiting) entry.waiting = options.waiting();
    log.push(entry);
  });
  return { log, stop };
}
