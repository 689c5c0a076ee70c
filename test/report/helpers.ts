import { createTestClock } from '@sluice/core/testing';
import { createCyberhavenClient } from '@sluice/cyberhaven';
import { createMockServer, demoKeys } from '@sluice/mock-server';
import { type LoggedEvent, recordEvents } from '@sluice/report';
import { drive } from '../helpers/index.js';

export const BASE = 'https://acme.cyberhaven.io';
/** The key's rule in the scenario, on client and server alike: 20 requests a second. */
export const LIMIT = { limit: 20, windowMs: 1000 };

/**
 * A short sync on the virtual clock, recorded as the demo records it: 120 event-details calls, 10 at a time, against the
 * simulator with 20 requests a second, 3-second tokens and a 429 storm of 150 ms every 2 s; one id that always answers
 * 429 makes a 429 reach the caller.
 */
export async function recordedRun(): Promise<{ log: LoggedEvent[]; errors: unknown[] }> {
  const clock = createTestClock();
  const server = createMockServer({
    clock,
    ...LIMIT,
    tokenTtlMs: 3000,
    latencyMs: { min: 20, max: 60 },
    faults: { storm: { everyMs: 2000, durationMs: 150 } },
  });
  const client = createCyberhavenClient({
    baseUrl: BASE,
    apiKey: demoKeys[0]!.key,
    clock,
    rateLimit: { rules: [LIMIT] },
    retry: { maxRetries: 2 },
    fetch: (request) =>
      request.url.includes('evt_refused')
        ? Promise.resolve(Response.json({ error: { code: 'rate_limited' } }, { status: 429, headers: { 'retry-after': '0' } }))
        : server.fetch(request),
  });
  const recording = recordEvents(client.events, { now: clock.now, waiting: () => client.interceptors.rateLimit.stats().queued });
  const errors: unknown[] = [];
  const ids = Array.from({ length: 120 }, (_, i) => (i === 60 ? 'evt_refused' : `evt_${String((i % 50) + 1).padStart(6, '0')}_1`));
  const work = async () => {
    for (let id = ids.shift(); id; id = ids.shift())
      await client.$fetch('/v2/event-details', { query: { ids: id } }).catch((e) => errors.push(e));
  };
  await drive(clock, Promise.all(Array.from({ length: 10 }, work)), { stepMs: 10 });
  recording.stop();
  await client.close();
  await server.close();
  return { log: recording.log, errors };
}
