// Runs one fault scenario against the simulator served on 127.0.0.1 and reports what every call came to.

import { createTestClock, type TestClock } from '@sluice/core/testing';
import { type CyberhavenClient, type CyberhavenOptions, createCyberhavenClient, isSluiceError } from '@sluice/cyberhaven';
import { seededRandom } from '@sluice/mock-server';
import { type ServedMock, type ServeOptions, serve } from '@sluice/mock-server/node';
import { drive } from '../helpers/index.js';

export const ADMIN_KEY = 'mock_admin_key_0123456789';

/** One row of the matrix, as the run found it. */
export interface Row {
  id: string;
  fault: string;
  calls: number;
  /** `Response 200`, `TokenExchangeError ERR_SLUICE_TOKEN_EXCHANGE`, `abort reason`, ... with how many calls ended so. */
  outcomes: Record<string, number>;
  /** Body reads the scenario made after a Response, and what they came to. */
  bodies: Record<string, number>;
  /** Calls that settled other than exactly once (none, or twice). */
  unsettled: number;
  /** Outcomes that are neither a Response, a sluice error, nor the abort reason the caller gave. */
  untyped: string[];
  unhandled: string[];
  /** Resources still keeping the event loop alive after close(), beyond those before the scenario. */
  handlesAfterClose: string[];
  heapDeltaMb: number;
  virtualMs: number;
  realMs: number;
  /** Outcomes the scenario expects; anything else fails the row. */
  expected: string[];
  problems: string[];
}

export interface Scenario {
  id: string;
  fault: string;
  serve?: ServeOptions;
  /** Client options over the defaults, or a function of the simulator's URL giving them. */
  client?: Partial<CyberhavenOptions> | ((base: string) => Partial<CyberhavenOptions>);
  expected: string[];
  /** Body-read outcomes the scenario expects, when it reads bodies. */
  expectedBodies?: string[];
  run(env: Env): Promise<void>;
}

export interface Env {
  clock: TestClock;
  served: ServedMock;
  client: CyberhavenClient;
  base: string;
  /** Starts a tracked call; `abort` is the caller's controller, whose reason counts as a typed outcome. */
  call(path: string, init?: RequestInit & { abort?: AbortController }): Promise<Response>;
  /** Reads a body (or what a reader has left of it) to the end and records how that went. */
  read(body: Response | ReadableStreamDefaultReader<Uint8Array>): Promise<void>;
  /** Moves virtual time until every tracked call has settled. */
  settle(stepMs?: number): Promise<void>;
  /** One successful call, so a token is in hand before the fault starts (not counted in the row). */
  warm(): Promise<void>;
}

const ids = (n: number) => `/v2/event-details?ids=evt_${n}`;
export const path = ids;

function label(outcome: unknown, reasons: Set<unknown>): string {
  if (outcome instanceof Response) return `Response ${outcome.status}`;
  if (reasons.has(outcome)) return 'abort reason';
  if (isSluiceError(outcome)) return `${outcome.name} ${outcome.code}`;
  return `untyped ${(outcome as Error)?.name}: ${(outcome as Error)?.message}`;
}

function resources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Immediate' && r !== 'TTYWrap');
}

function minus(after: string[], before: string[]): string[] {
  const left = [...before];
  return after.filter((r) => {
    const i = left.indexOf(r);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

// Closing sockets and servers finishes on later turns of the loop: give them a bounded number of turns.
async function drained(before: string[]): Promise<string[]> {
  let extra = minus(resources(), before);
  for (let turn = 0; turn < 200 && extra.length > 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    extra = minus(resources(), before);
  }
  return extra;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

export async function runScenario(scenario: Scenario): Promise<Row> {
  const before = resources();
  const heapBefore = heap();
  const started = performance.now();
  const clock = createTestClock();
  const t0 = clock.now();
  const row: Row = {
    id: scenario.id,
    fault: scenario.fault,
    calls: 0,
    outcomes: {},
    bodies: {},
    unsettled: 0,
    untyped: [],
    unhandled: [],
    handlesAfterClose: [],
    heapDeltaMb: 0,
    virtualMs: 0,
    realMs: 0,
    expected: scenario.expected,
    problems: [],
  };
  const onUnhandled = (reason: unknown) => row.unhandled.push(String(reason));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const served = await serve({ port: 0, clock, seed: 7, ...scenario.serve });
  const options = typeof scenario.client === 'function' ? scenario.client(served.url) : scenario.client;
  const client = createCyberhavenClient({
    baseUrl: served.url,
    apiKey: ADMIN_KEY,
    clock,
    ...options,
    retry: { random: seededRandom(11), ...options?.retry },
  });
  const settles: number[] = [];
  const pending: Promise<unknown>[] = [];
  const reasons = new Set<unknown>();
  const count = (bag: Record<string, number>, key: string) => {
    bag[key] = (bag[key] ?? 0) + 1;
  };
  const record = (outcome: unknown) => {
    const name = label(outcome, reasons);
    if (name.startsWith('untyped')) row.untyped.push(name);
    count(row.outcomes, name);
  };
  const env: Env = {
    clock,
    served,
    client,
    base: served.url,
    call(p, init = {}) {
      const { abort, ...rest } = init;
      if (abort) {
        abort.signal.addEventListener('abort', () => reasons.add(abort.signal.reason), { once: true });
        rest.signal = abort.signal;
        if (abort.signal.aborted) reasons.add(abort.signal.reason);
      }
      const i = settles.push(0) - 1;
      row.calls++;
      const promise = client.fetch(`${served.url}${p}`, rest);
      pending.push(
        promise.then(
          (response) => {
            settles[i]!++;
            record(response);
          },
          (error) => {
            settles[i]!++;
            record(error);
          },
        ),
      );
      return promise;
    },
    async read(body) {
      try {
        if (body instanceof Response) await body.arrayBuffer();
        else while (!(await body.read()).done);
        count(row.bodies, 'read to the end');
      } catch (error) {
        const name = reasons.has(error) ? 'abort reason' : `${(error as Error).name}: ${(error as Error).message}`;
        count(row.bodies, name);
      }
    },
    async settle(stepMs = 100) {
      await drive(clock, Promise.all(pending), { stepMs, limitMs: 3_600_000 });
    },
    async warm() {
      // Not one of the row's calls: it only puts a token in hand.
      const response = await drive(clock, client.fetch(`${served.url}${ids(0)}`));
      await response.arrayBuffer();
    },
  };
  try {
    await scenario.run(env);
    await env.settle();
  } catch (error) {
    row.problems.push(`scenario threw: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    row.virtualMs = clock.now() - t0;
    const closing = Promise.all([client.close(), served.close()]);
    await drive(clock, closing).catch((error: unknown) => row.problems.push(`close failed: ${String(error)}`));
    row.handlesAfterClose = await drained(before);
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
  row.unsettled = settles.filter((n) => n !== 1).length;
  row.realMs = Math.round(performance.now() - started);
  row.heapDeltaMb = Math.round(((heap() - heapBefore) / 1048576) * 10) / 10;
  check(row, scenario);
  return row;
}

const HEAP_BOUND_MB = 16;

function check(row: Row, scenario: Scenario): void {
  const p = row.problems;
  if (row.unsettled > 0) p.push(`${row.unsettled} calls did not settle exactly once`);
  if (row.untyped.length > 0) p.push(`untyped outcomes: ${row.untyped.join('; ')}`);
  if (row.unhandled.length > 0) p.push(`unhandled: ${row.unhandled.join('; ')}`);
  if (row.handlesAfterClose.length > 0) p.push(`open after close(): ${row.handlesAfterClose.join(', ')}`);
  if (row.heapDeltaMb > HEAP_BOUND_MB) p.push(`heap grew ${row.heapDeltaMb} MB (bound ${HEAP_BOUND_MB} MB)`);
  const unexpected = Object.keys(row.outcomes).filter((o) => !scenario.expected.includes(o));
  if (unexpected.length > 0) p.push(`unexpected outcomes: ${unexpected.join('; ')}`);
  const unexpectedBodies = Object.keys(row.bodies).filter((o) => !(scenario.expectedBodies ?? []).includes(o));
  if (unexpectedBodies.length > 0) p.push(`unexpected body reads: ${unexpectedBodies.join('; ')}`);
}

/** The simulator's own seeded generator (mulberry32), so every run sees the same traffic. */
export { seededRandom as seeded };
