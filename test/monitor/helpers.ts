import { compose, type EventName, type Interceptor, type SluiceEvents, type SluiceFetch } from '@sluice/core';
import { createFakeTransport, createTestClock, type FakeTransport, type TestClock } from '@sluice/core/testing';
import { type Monitor, type MonitorOptions, monitor } from '@sluice/monitor';
import { recordEvents } from '../helpers/index.js';

export const API = 'https://api.example';

/** Sets `ctx.state.keyId`, as auth-token would, from the request's `x-test-key` header. */
export const keyFromHeader: Interceptor = {
  name: 'test-key',
  handle(request, next, ctx) {
    const key = request.headers.get('x-test-key');
    if (key) ctx.state.keyId = key;
    return next(request);
  },
};

export interface Setup {
  clock: TestClock;
  transport: FakeTransport;
  mon: Monitor;
  fetch: SluiceFetch;
  /** Payloads of one event type, in order. */
  of<K extends EventName>(type: K): SluiceEvents[K][];
  /** GET `path` for `key`. */
  get(path: string, key?: string): Promise<Response>;
}

/** `before` interceptors, then the monitor, innermost, over the fake transport, on the virtual clock. */
export function setup(options: MonitorOptions = {}, before: Interceptor[] = [keyFromHeader]): Setup {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock });
  const mon = monitor(options);
  const fetch = compose([...before, mon], { fetch: transport.fetch, clock });
  const { of } = recordEvents(fetch.events);
  return {
    clock,
    transport,
    mon,
    fetch,
    of,
    get: (path, key = 'k1') => fetch(`${API}${path}`, { headers: { 'x-test-key': key } }),
  };
}

export const status = (code: number, headers?: HeadersInit) => () =>
  new Response(code === 204 || code === 304 ? null : `status ${code}`, { status: code, headers });

/** The snapshot row of one key, failing the test when it is missing. */
export function keyRow(mon: Monitor, keyId: string) {
  const row = mon.snapshot().keys.find((k) => k.keyId === keyId);
  if (!row)
    throw new Error(
      `no row for key ${keyId}: ${mon
        .snapshot()
        .keys.map((k) => k.keyId)
        .join(', ')}`,
    );
  return row;
}

export function endpointRow(mon: Monitor, keyId: string, endpoint: string) {
  const row = keyRow(mon, keyId).endpoints.find((e) => e.endpoint === endpoint);
  if (!row) throw new Error(`no row for ${keyId} ${endpoint}`);
  return row;
}

export { drive } from '../helpers/index.js';
