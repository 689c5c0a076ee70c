// The cells of the scale matrix (scale.mjs): one server model and header form, one limit and window, a cold-start
// burst; through rateLimit() in a pipeline on a heap-based virtual clock, or (large limits) its store driven by an event
// loop with the same queue discipline.

import { createMinHeap } from './min-heap.mjs';
import { counter, quotaHeaders } from './scale-servers.mjs';
import { createHeapClock } from './vclock.mjs';

export const LATENCY = { min: 5, max: 50 };
// A day boundary: every window of the matrix starts with the burst, so a fixed window's least time is a sliding log's.
export const START = Date.UTC(2026, 0, 1);
/** Where a burst sends its requests: one key (the origin) of three endpoints. */
export const ORIGIN = 'https://api.example';

/** Requests per cell: several windows' worth for small limits, two and a quarter for large ones. */
export const countFor = (limit) => (limit <= 60 ? Math.max(4 * limit, 20) : Math.ceil(2.25 * limit));
const rulesFor = (kind, limit, windowMs) => [{ limit, windowMs, ...(kind === 'bucket' ? { burst: limit } : {}) }];

/** A seeded generator (mulberry32): every run of a cell sees the same latencies. */
export function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The server of a cell: a counter of its kind answering with its header form. */
export function serverOf(kind, form, limit, windowMs) {
  const count = counter(kind, limit, windowMs);
  let refused = 0;
  return {
    get refused() {
      return refused;
    },
    /** Counts the request at `now`; returns the status and headers of its answer. */
    answer(now) {
      const ok = count.admit(now);
      if (!ok) refused++;
      const headers = quotaHeaders(form, limit, windowMs, count.quota(now), now);
      if (!ok) headers['retry-after'] = String(Math.max(1, Math.ceil((count.quota(now).resetAt - now) / 1000)));
      return { status: ok ? 200 : 429, headers };
    },
  };
}

export async function pipelineCell(s, kind, form, limit, windowMs) {
  const clock = createHeapClock(START);
  const random = seeded(limit * 31 + windowMs);
  const leg = () => LATENCY.min + random() * (LATENCY.max - LATENCY.min);
  const server = serverOf(kind, form, limit, windowMs);
  const limiter = s.rateLimit.rateLimit({
    rules: rulesFor(kind, limit, windowMs),
    concurrency: Number.POSITIVE_INFINITY,
    maxQueue: Number.POSITIVE_INFINITY,
    key: () => 'k',
  });
  const api = s.core.compose([limiter], { fetch: transportTo(server, clock, leg), clock });
  const last = await burst(api, clock, countFor(limit));
  await api.close();
  return { refused: server.refused, completionMs: last - START, via: 'pipeline' };
}

/** A fetch to `server` on `clock`: `leg()` ms there, counted and answered on arrival, `leg()` ms back. */
export function transportTo(server, clock, leg) {
  return async () => {
    await clock.sleep(leg());
    const { status, headers } = server.answer(clock.now());
    await clock.sleep(leg());
    return new Response(null, { status, headers });
  };
}

/** Sends `count` requests through `api` at once over three endpoints and drives `clock` until all are answered; returns when the last was. */
export async function burst(api, clock, count) {
  let settled = 0;
  let last = clock.now();
  for (let i = 0; i < count; i++)
    api(`${ORIGIN}/v2/e${i % 3}`).then(() => {
      settled++;
      last = clock.now();
    });
  await clock.run(() => settled === count);
  return last;
}

// The store driven directly: requests wait in one first-come-first-served line; the first asks the store whenever it
// may have changed its mind (its retryAt, or an answer), and each answer is released and learnt from as rateLimit()
// does. The dating is the answer's arrival: with 5 to 50 ms each way, round trips spread as wide as they are long and
// rateLimit() learns no margin either.
export async function storeCell(s, http, kind, form, limit, windowMs) {
  const store = s.rateLimit.createMemoryStore();
  const rules = rulesFor(kind, limit, windowMs).map((r) => ({ ...r, jitterMs: Number.POSITIVE_INFINITY }));
  const random = seeded(limit * 31 + windowMs);
  const leg = () => LATENCY.min + random() * (LATENCY.max - LATENCY.min);
  const server = serverOf(kind, form, limit, windowMs);
  const events = createEventQueue();
  const longest = windowMs;
  let waiting = countFor(limit);
  let done = 0;
  let last = START;
  let wakeAt = Number.POSITIVE_INFINITY;
  const send = (now) => {
    while (waiting > 0) {
      const result = store.acquire({ key: 'k', endpoint: '/v2/e', now, rules, concurrency: Number.POSITIVE_INFINITY, leaseMs: 300_000 });
      if (!result.ok) {
        if (result.retryAt < wakeAt && result.retryAt < Number.POSITIVE_INFINITY) events.push((wakeAt = result.retryAt), wake);
        return;
      }
      waiting--;
      const lease = result;
      events.push(now + leg(), (at) => {
        const { status, headers } = server.answer(at);
        events.push(at + leg(), (back) => {
          const parsed = http.parseRateLimit(new Headers(headers), back);
          const answer = { sentAt: now, at: back, status, ...parsed };
          if (status === 429) {
            const retryAfter = http.parseRetryAfter(headers['retry-after'], back);
            answer.retryAt = retryAfter === undefined ? (parsed?.resetAt ?? back + longest) : back + retryAfter;
          }
          lease.release(back, answer);
          done++;
          last = back;
          send(back);
        });
      });
    }
  };
  const wake = (at) => {
    wakeAt = Number.POSITIVE_INFINITY;
    send(at);
  };
  send(START);
  events.run();
  if (done !== countFor(limit)) throw new Error(`store cell ${kind} ${form} ${limit}/${windowMs}: ${done} of ${countFor(limit)} done`);
  return { refused: server.refused, completionMs: last - START, via: 'store' };
}

/** Events by time, run in order: `push(at, handler)`, `run()`. */
function createEventQueue() {
  const heap = createMinHeap();
  return {
    push: (at, handler) => heap.push({ at, handler }),
    run() {
      while (heap.size) {
        const event = heap.pop();
        event.handler(event.at);
      }
    },
  };
}
