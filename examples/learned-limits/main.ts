// An API whose limits nobody typed: `rateLimit({ rules: 'auto' })` learns them from its answers.
// Run: node --import tsx examples/learned-limits/main.ts
import { fileURLToPath } from 'node:url';
import { authToken } from '@sluice/auth-token';
import { type Clock, compose, systemClock } from '@sluice/core';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { type LearntPolicy, rateLimit } from '@sluice/rate-limit';
import { retry429 } from '@sluice/retry-429';

const BASE = 'https://tenant.example';
const REQUESTS = 120;
/** What the server allows per key, which the client is never told: 20 requests per 2 s, 5 in flight per endpoint. */
const SERVER = { limit: 20, windowMs: 2000 };

/** The simulator's answers with their quota headers taken off: all a client learns is from 429s and their Retry-After. */
const undocumented =
  (fetch: (request: Request) => Promise<Response>) =>
  async (request: Request): Promise<Response> => {
    const response = await fetch(request);
    const headers = new Headers(response.headers);
    for (const name of [...headers.keys()]) if (name.startsWith('x-ratelimit-')) headers.delete(name);
    return new Response(response.body, { status: response.status, headers });
  };

export interface Options {
  log?: (line: string) => void;
  /** Inject a test clock to run it in virtual time. */
  clock?: Clock;
}

export async function main({ log = console.log, clock = systemClock }: Options = {}) {
  const server = createMockServer({ clock, ...SERVER, latencyMs: { min: 20, max: 60 } });
  const key = demoKeys.find((k) => k.role === 'admin')!;
  // retry429 in front: the few 429s met while learning are retried, and never reach the caller.
  const api = compose([retry429(), authToken({ apiKey: key.key, baseUrl: BASE }), rateLimit({ rules: 'auto' })], {
    fetch: undocumented(server.fetch),
    clock,
  });
  const started = clock.now();
  const seconds = () => ((clock.now() - started) / 1000).toFixed(1);
  let policy: LearntPolicy | undefined;
  api.events.on('rate-limit:learned', (e) => {
    if (!e.policy) return;
    policy = e.policy;
    const rules = e.policy.rules.map((r) => `${r.limit} per ${r.windowMs} ms`).join(' and ') || 'no rule yet';
    log(`${seconds()} s: ${e.policy.source}: ${rules} (${e.evidence})`);
  });
  try {
    const statuses = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => api(`${BASE}/v2/event-details?ids=evt_${i}`).then((r) => r.status)),
    );
    const stats = server.stats();
    const ok = statuses.filter((s) => s === 200).length;
    log(
      `done: ${ok} of ${REQUESTS} answered 200 in ${seconds()} s; the server answered ${stats.rateLimited} 429s while the limit was learnt`,
    );
    log(
      `the server allows ${SERVER.limit} per ${SERVER.windowMs} ms; the least time for ${REQUESTS} requests is about ${((REQUESTS / SERVER.limit - 1) * SERVER.windowMs) / 1000} s`,
    );
    return { statuses, stats, policy };
  } finally {
    await api.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
