import { compose, type Interceptor, type SluiceEvents } from '@sluice/core';
import { createFakeTransport, createTestClock, type Reply } from '@sluice/core/testing';
import { type RateLimitOptions, rateLimit } from '@sluice/rate-limit';

export const URL_A = 'https://api.example/v2/a';
export const URL_B = 'https://api.example/v2/b';

/** A rate limiter over a fake transport on a virtual clock, recording events and send times (ms since start). */
export function harness(options: RateLimitOptions = {}, before: Interceptor[] = []) {
  const clock = createTestClock();
  const t0 = clock.now();
  const transport = createFakeTransport({ clock }).fallback(() => new Response('ok'));
  const limiter = rateLimit(options);
  const api = compose([...before, limiter], { fetch: transport.fetch, clock });
  const events: { type: keyof SluiceEvents; payload: unknown; at: number }[] = [];
  api.events.on('*', (type, payload) => events.push({ type, payload, at: clock.now() - t0 }));
  const sent = () => transport.calls.map((c) => `${new URL(c.url).pathname}@${c.at - t0}`);
  const of = <K extends keyof SluiceEvents>(type: K) => events.filter((e) => e.type === type).map((e) => e.payload as SluiceEvents[K]);
  return { clock, t0, transport, limiter, api, events, sent, of };
}

/** A reply the test answers when it wants: `release()` resolves it. */
export function gate(response: () => Response = () => new Response('ok')) {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reply: Reply = async () => {
    await opened;
    return response();
  };
  return { reply, release: () => open() };
}

/** An interceptor that sets `ctx.state.keyId`, as auth-token does. */
export const keyId = (id: string): Interceptor => ({
  name: 'key-id',
  handle(request, next, ctx) {
    ctx.state.keyId = id;
    return next(request);
  },
});
