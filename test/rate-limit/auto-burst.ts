// A burst through rateLimit({ rules: 'auto' }) on the virtual clock: the learning suites' common run.
import { compose, type SluiceEvents } from '@sluice/core';
import type { TestClock } from '@sluice/core/testing';
import { rateLimit } from '@sluice/rate-limit';
import { drive } from '../helpers/index.js';

/** Sends a request to each of `urls` at once through a learning limiter over `fetch`; resolves when all are answered. */
export async function autoBurst(clock: TestClock, fetch: (request: Request) => Promise<Response>, urls: string[]) {
  const limiter = rateLimit({ rules: 'auto', maxQueue: 10_000 });
  const api = compose([limiter], { fetch, clock });
  const learnt: SluiceEvents['rate-limit:learned'][] = [];
  api.events.on('rate-limit:learned', (e) => learnt.push(e));
  const t0 = clock.now();
  let last = t0;
  await drive(clock, Promise.all(urls.map((url) => api(url).then(() => (last = clock.now())))), { stepMs: 10 });
  await api.close();
  return { limiter, learnt, tookMs: last - t0 };
}
