import { compose, type EventName, type Interceptor, type SluiceEvents, type SluiceFetch } from '@sluice/core';
import { createFakeTransport, createTestClock, type FakeTransport, type TestClock } from '@sluice/core/testing';
import { type Retry429Options, retry429 } from '@sluice/retry-429';
import { recordEvents, track } from '../helpers/index.js';

export const API = 'https://api.example';
export const URL_ITEMS = `${API}/v2/items`;

export interface Setup {
  clock: TestClock;
  transport: FakeTransport;
  fetch: SluiceFetch;
  /** Payloads of one event type, in order. */
  of<K extends EventName>(type: K): SluiceEvents[K][];
}

/** retry-429 (deterministic jitter unless `random` is given) over the fake transport, with optional neighbours. */
export function setup(options: Retry429Options = {}, around: { before?: Interceptor[]; after?: Interceptor[] } = {}): Setup {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock });
  const fetch = compose([...(around.before ?? []), retry429({ random: () => 0.5, ...options }), ...(around.after ?? [])], {
    fetch: transport.fetch,
    clock,
  });
  const { of } = recordEvents(fetch.events);
  return {
    clock,
    transport,
    fetch,
    of,
  };
}

export const ok = () => new Response('ok', { status: 200 });
export const status = (code: number, headers?: HeadersInit) => () => new Response(`status ${code}`, { status: code, headers });
export const tooMany = (headers?: HeadersInit) => status(429, headers);

/** The first `n` decorrelated-jitter delays for a constant random draw (Polly's DecorrelatedJitterV2, written out here). */
export function expectedBackoff(n: number, draw: number, baseMs: number, maxMs: number): number[] {
  const delays: number[] = [];
  let previous = 0;
  for (let attempt = 0; attempt < n; attempt++) {
    const t = attempt + draw;
    const next = 2 ** t * Math.tanh(Math.sqrt(4 * t));
    delays.push(Math.ceil(Math.min((Math.max(0, next - previous) / 1.4) * baseMs, maxMs)));
    previous = next;
  }
  return delays;
}

/** An interceptor that stamps `ctx.state.keyId`, as auth-token does. */
export const keyed = (keyId: string): Interceptor => ({
  name: 'keyed',
  handle: (request, next, ctx) => {
    ctx.state.keyId = keyId;
    return next(request);
  },
});

/** Runs the virtual clock until `promise` settles (every wait fires as soon as nothing else can happen). */
export async function drive<T>(clock: TestClock, promise: Promise<T>): Promise<T> {
  const tracked = track(promise);
  for (let round = 0; round < 50 && !tracked.settled(); round++) {
    await clock.flush();
    await clock.runAll();
  }
  return promise;
}
