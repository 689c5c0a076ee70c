import { type Faults, validateFaults } from './options.js';
import { pick } from './random.js';

const RESET = Symbol.for('sluice.mock-server.connection-reset');

/**
 * What an in-process transport rejects with on a "connection reset" fault: shaped like the
 * `TypeError: fetch failed` that undici throws, with an ECONNRESET cause. `serve()` destroys the socket instead.
 */
export function connectionReset(): TypeError {
  const cause = Object.assign(new Error('connection reset by the mock server (fault injection)'), { code: 'ECONNRESET' });
  const error = new TypeError('fetch failed', { cause });
  Object.defineProperty(error, RESET, { value: true });
  return error;
}

/**
 * What a response body fails with on a "reset mid-body" fault, shaped like undici's `TypeError: terminated`
 * with an ECONNRESET cause. `serve()` destroys the socket instead, after the first part of the body.
 */
export function bodyReset(): TypeError {
  const cause = Object.assign(new Error('connection reset mid-body by the mock server (fault injection)'), { code: 'ECONNRESET' });
  const error = new TypeError('terminated', { cause });
  Object.defineProperty(error, RESET, { value: true });
  return error;
}

/** A 200 JSON answer whose body stops after its first half and then fails like a reset connection. */
export function truncatedJson(body: unknown): Response {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(bytes.slice(0, Math.ceil(bytes.length / 2)));
      else controller.error(bodyReset());
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
}

export function isConnectionReset(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[RESET] === true;
}

/** Bodies a token exchange may answer with under `malformedTokenRate`, all with status 200. */
const MALFORMED_TOKEN_ANSWERS: readonly { type: string; body: string }[] = [
  { type: 'application/json', body: '{"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6' },
  { type: 'application/json', body: '{"expires_in": 900}' },
  { type: 'application/json', body: '{"access_token": null, "expires_in": 900}' },
  { type: 'text/html', body: '<html><body><h1>Gateway maintenance</h1></body></html>' },
  { type: 'application/json', body: '' },
];

/** Fault settings and the decisions drawn from them. Times are client milliseconds; no timers are used. */
export function createFaults(initial: Faults, random: () => number, now: () => number, origin: () => number) {
  let faults: Faults = { ...initial };
  let manualStormUntil = Number.NEGATIVE_INFINITY;
  const roll = (rate: number | undefined) => rate !== undefined && rate > 0 && random() < rate;

  return {
    get: (): Faults => ({ ...faults }),
    /** Merges `patch` into the settings; `undefined` values clear a setting. */
    set(patch: Faults) {
      const next = { ...faults, ...patch };
      validateFaults(next);
      faults = next;
    },
    startStorm(ms: number) {
      if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`storm duration must be a non-negative number of ms, got ${ms}`);
      manualStormUntil = now() + ms;
    },
    /** Milliseconds of 429 storm left, 0 when there is none. */
    stormLeft(): number {
      const at = now();
      let left = Math.max(0, manualStormUntil - at);
      const storm = faults.storm;
      if (storm && storm.durationMs > 0) {
        const phase = (at - origin()) % storm.everyMs;
        if (phase >= storm.everyMs - storm.durationMs) left = Math.max(left, storm.everyMs - phase);
      }
      return left;
    },
    reset: () => roll(faults.resetRate),
    truncate: () => roll(faults.truncateRate),
    serverError: (): number | undefined => (roll(faults.serverErrorRate) ? pick(random, [500, 502, 503]) : undefined),
    malformedToken: () => (roll(faults.malformedTokenRate) ? pick(random, MALFORMED_TOKEN_ANSWERS) : undefined),
    tokenLatency: () => faults.tokenLatencyMs ?? 0,
  };
}

export type FaultState = ReturnType<typeof createFaults>;
