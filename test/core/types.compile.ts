// Compile-only: checked by `tsc -p test/tsconfig.json`, never run.
import { compose, type Interceptor } from '@sluice/core';
import '../../examples/custom-plugin/request-timer.js';

const api = compose([]);

api.events.on('rate-limit:exceeded', (e) => {
  const keyId: string | undefined = e.keyId;
  const wait: number | undefined = e.retryAfterMs;
  void keyId;
  void wait;
});

// Events added by a plugin through augmentation are typed too.
api.events.on('timer:request-done', (e) => {
  const ms: number = e.durationMs;
  void ms;
});

// @ts-expect-error unknown event names are rejected
api.events.on('no-such:event', () => {});

// @ts-expect-error payloads must match the event
api.events.emit('rate-limit:exceeded', { keyId: 'k' });

// @ts-expect-error handle must return a Promise<Response>
const wrong: Interceptor = { name: 'x', handle: () => 'no' };
void wrong;

// The composed function is a drop-in for fetch.
const asFetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> = api;
void asFetch;
