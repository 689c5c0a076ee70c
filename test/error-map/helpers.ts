import { compose, type EventName, type Interceptor, type SluiceEvents, type SluiceFetch } from '@sluice/core';
import { createFakeTransport, createTestClock, type FakeTransport, type TestClock } from '@sluice/core/testing';
import { type ErrorMapOptions, errorMap } from '@sluice/error-map';
import { recordEvents } from '../helpers/index.js';

export const API = 'https://api.example';
export const URL_ITEMS = `${API}/v2/items`;

export interface Setup {
  clock: TestClock;
  transport: FakeTransport;
  fetch: SluiceFetch;
  of<K extends EventName>(type: K): SluiceEvents[K][];
}

export function setup(options: ErrorMapOptions = {}, after: Interceptor[] = []): Setup {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock });
  const fetch = compose([errorMap(options), ...after], { fetch: transport.fetch, clock });
  const { of } = recordEvents(fetch.events);
  return {
    clock,
    transport,
    fetch,
    of,
  };
}

/** Awaits a call expected to throw and returns what it threw. */
export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}
