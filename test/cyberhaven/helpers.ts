import type { EventName, SluiceEvents } from '@sluice/core';
import { createTestClock, type TestClock } from '@sluice/core/testing';
import { type CyberhavenClient, type CyberhavenOptions, createCyberhavenClient } from '@sluice/cyberhaven';
import { createMockServer, demoKeys, type MockServer, type MockServerOptions } from '@sluice/mock-server';
import { recordEvents } from '../helpers/index.js';

export const BASE = 'https://acme.cyberhaven.io';
export const ADMIN_KEY = demoKeys[0]!.key;
export const READ_ONLY_KEY = demoKeys[1]!.key;

export interface Setup {
  clock: TestClock;
  server: MockServer;
  client: CyberhavenClient;
  /** Every request the transport saw: method, path and query, parsed JSON body. */
  sent: Array<{ method: string; path: string; body: any }>;
  /** Payloads of one event type, in order. */
  of<K extends EventName>(type: K): SluiceEvents[K][];
}

/** The preset over the in-process simulator, both on one virtual clock. */
export function setup(options: { server?: MockServerOptions; client?: Partial<CyberhavenOptions> } = {}): Setup {
  const clock = createTestClock();
  const server = createMockServer({ clock, ...options.server });
  const sent: Setup['sent'] = [];
  const client = createCyberhavenClient({
    baseUrl: BASE,
    apiKey: ADMIN_KEY,
    clock,
    async fetch(request) {
      const url = new URL(request.url);
      const text = request.body ? await request.clone().text() : '';
      sent.push({ method: request.method, path: url.pathname + url.search, body: text ? JSON.parse(text) : undefined });
      return server.fetch(request);
    },
    ...options.client,
  });
  const { of } = recordEvents(client.events);
  return { clock, server, client, sent, of };
}

export { drive } from '../helpers/index.js';

export interface Incident {
  id: string;
  event_ids: string[];
}

/**
 * A sync as the demo runs it: walk every incident page, and fetch their events in batches of `batch` ids with
 * `workers` calls at a time. Resolves with what arrived, and every error a caller saw.
 */
export async function syncAll(client: CyberhavenClient, { pageSize = 50, batch = 20, workers = 20 } = {}) {
  const incidents: string[] = [];
  const events = new Set<string>();
  const errors: unknown[] = [];
  const queue: string[][] = [];
  let pending: string[] = [];
  let walking = true;
  const sleepers: Array<() => void> = [];
  const push = (ids: string[]) => {
    queue.push(ids);
    sleepers.shift()?.();
  };

  const walk = async () => {
    try {
      for await (const incident of client.paginate<Incident>('/v2/incidents/list', {}, { pageSize })) {
        incidents.push(incident.id);
        pending.push(...incident.event_ids);
        if (pending.length >= batch) push(pending.splice(0, batch));
      }
      if (pending.length) push(pending);
      pending = [];
    } catch (error) {
      errors.push(error);
    } finally {
      walking = false;
      for (const wake of sleepers.splice(0)) wake();
    }
  };
  const work = async () => {
    for (;;) {
      const ids = queue.shift();
      if (!ids) {
        if (!walking) return;
        await new Promise<void>((resolve) => sleepers.push(resolve));
        continue;
      }
      try {
        const page = await client.$fetch<{ resources: Array<{ id: string }> }>('/v2/event-details', { query: { ids: ids.join(',') } });
        for (const event of page.resources) events.add(event.id);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all([walk(), ...Array.from({ length: workers }, work)]);
  return { incidents, events, errors };
}
