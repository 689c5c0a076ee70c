// The workload: walk every incident page (one cursor, so one page at a time) and, as pages arrive, fetch the
// events of their incidents in batches of ids, `workers` calls at a time. Every call goes through the preset.
import { isRateLimitError } from '@sluice/cyberhaven';

/** What the sync has done so far: `incidents` walked, `synced` with all their events fetched. */
export const newCounts = () => ({ incidents: 0, synced: 0, events: 0, batches: 0, errors: 0, rateLimitErrors: 0 });

/**
 * @param {import('@sluice/cyberhaven').CyberhavenClient} client
 * @param {{ pageSize: number, batch: number, workers: number, maxIncidents?: number, signal: AbortSignal,
 *   counts: ReturnType<typeof newCounts>, onCall(ms: number): void, onError(error: unknown): void }} o
 */
export async function sync(client, o) {
  const result = o.counts;
  /** Batches waiting for a worker: the ids, and how many incidents end in them. */
  const queue = [];
  const sleepers = [];
  let walking = true;
  const fail = (error) => {
    if (o.signal.aborted) return;
    result.errors++;
    if (isRateLimitError(error)) result.rateLimitErrors++;
    o.onError(error);
  };

  async function walk() {
    let ids = [];
    let ends = []; // where each incident's ids end in `ids`
    const cut = (size) => {
      const done = ends.filter((end) => end <= size).length;
      ends = ends.slice(done).map((end) => end - size);
      queue.push({ ids: ids.splice(0, size), incidents: done });
      sleepers.shift()?.();
    };
    try {
      for await (const incident of client.paginate('/v2/incidents/list', {}, { pageSize: o.pageSize, signal: o.signal })) {
        result.incidents++;
        ids.push(...(Array.isArray(incident.event_ids) ? incident.event_ids : []));
        ends.push(ids.length);
        while (ids.length >= o.batch) cut(o.batch);
        if (result.incidents >= (o.maxIncidents ?? Number.POSITIVE_INFINITY)) break;
      }
      if (ids.length > 0) cut(ids.length);
      result.synced += ends.length; // incidents without events
      ids = [];
    } catch (error) {
      fail(error);
    } finally {
      walking = false;
      for (const wake of sleepers.splice(0)) wake();
    }
  }

  async function work() {
    while (!o.signal.aborted) {
      const next = queue.shift();
      if (!next) {
        if (!walking) return;
        await new Promise((resolve) => sleepers.push(resolve));
        continue;
      }
      const started = performance.now();
      try {
        const page = await client.$fetch('/v2/event-details', { query: { ids: next.ids.join(',') }, signal: o.signal });
        result.events += page.resources.length;
        result.batches++;
        result.synced += next.incidents;
        o.onCall(performance.now() - started);
      } catch (error) {
        fail(error);
      }
    }
  }

  await Promise.all([walk(), ...Array.from({ length: o.workers }, work)]);
}
