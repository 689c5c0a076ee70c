import { raceAbort } from './abort.js';
import { createBus, type EventBus } from './bus.js';
import { type Clock, systemClock } from './clock.js';
import { ClosedError, InterceptorError } from './errors.js';
import type { Context, FetchLike, Interceptor, Next, Teardown } from './types.js';

export interface ComposeOptions {
  /** Transport at the end of the chain. @default the global `fetch`, looked up at each call */
  fetch?: FetchLike;
  /** Time source for every interceptor. @default `systemClock` */
  clock?: Clock;
  /** Bus to share with other pipelines. @default a new bus */
  bus?: EventBus;
}

/** A drop-in `fetch` that runs every call through the interceptors. */
export interface SluiceFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly events: EventBus;
  readonly clock: Clock;
  /** Tears down every interceptor (timers, listeners, queued waiters); later calls reject with `ClosedError`. */
  close(): Promise<void>;
}

/** Composes interceptors into a fetch-compatible function. The first interceptor is the outermost. */
export function compose(interceptors: readonly Interceptor[], options: ComposeOptions = {}): SluiceFetch {
  // Spreading throws a TypeError for a list that is not iterable.
  const list = [...interceptors];
  list.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i.handle !== 'function') throw new TypeError(`interceptors[${n}] needs a name and handle()`);
  });
  const ownBus = options.bus === undefined;
  const bus = options.bus ?? createBus();
  const clock = options.clock ?? systemClock;
  const transport = options.fetch;
  const teardowns: Teardown[] = [];
  for (const interceptor of list) {
    const teardown = interceptor.setup?.({ bus, clock });
    if (typeof teardown === 'function') teardowns.push(teardown);
  }
  let closing: Promise<void> | undefined;

  // The platform's fetch copies a Request, and in Node the copy follows the original's signal (a listener, a WeakRef and
  // a finalizer per call). A request made here without the caller's signal can never abort: its copy need not follow.
  // Compared by identity: reading `request.signal` would make Node build the signal.
  const send = (request: Request, inert: Request | false) =>
    transport
      ? transport(request)
      : globalThis.fetch(request, request === inert && request.referrer === 'about:client' ? { signal: null } : undefined);
  // One check per interceptor, made once: a non-Response from handle() is an InterceptorError naming it.
  const checks = list.map((interceptor) => (response: Response) => {
    // Duck-typed: a Response from another realm or fetch implementation is one too.
    if (typeof response?.status === 'number' && response.headers) return response;
    throw new InterceptorError(interceptor.name, 'handle() must resolve to a Response');
  });

  // One step of the onion: one promise per step, no wrapper (the overhead benchmark counts them).
  const dispatch = (index: number, request: Request, ctx: Context, inert: Request | false): Promise<Response> => {
    const interceptor = list[index];
    try {
      if (interceptor) {
        const next: Next = (nextRequest, nextCtx) => dispatch(index + 1, nextRequest, nextCtx ?? ctx, inert);
        return Promise.resolve(interceptor.handle(request, next, ctx)).then(checks[index]);
      }
      const ready = ctx.state.beforeSend?.(request) ?? request;
      return ready instanceof Promise ? ready.then((r) => send(r, inert)) : Promise.resolve(send(ready, inert));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const sluiceFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    // A throw in here (closed, aborted, a bad URL) rejects the call.
    try {
      if (closing) throw new ClosedError();
      const callerRequest = input instanceof Request && init === undefined ? input : undefined;
      let result: Promise<Response>;
      // What fetch refuses goes to the platform's fetch as it is: refused in its own words (Bun's differ from its Request
      // constructor's), it leaves a caller's Request used, as fetch does. (`body` is not read: Deno would then send a
      // string or bytes body chunked.)
      if (!transport && callerRequest && (callerRequest.bodyUsed || signal?.aborted)) {
        result = globalThis.fetch(callerRequest);
      } else {
        // As fetch does: the Request first (a bad URL or init throws its TypeError), then the signal.
        let request: Request;
        try {
          request = callerRequest ?? new Request(input, init);
        } catch (error) {
          if (transport) throw error;
          // A signal aborted beforehand keeps fetch from sending what it would accept.
          return globalThis.fetch(input, { ...init, signal: AbortSignal.abort(error) });
        }
        signal?.throwIfAborted();
        const ctx: Context = {
          attempt: 1,
          signal,
          streamBody: init?.body instanceof ReadableStream,
          state: {},
          callerRequest,
          bus,
          clock,
        };
        result = dispatch(0, request, ctx, !signal && request);
      }
      return signal ? raceAbort(result, signal) : result;
    } catch (error) {
      return Promise.reject(error);
    }
  };

  return Object.assign(sluiceFetch, {
    events: bus,
    clock,
    close: (): Promise<void> =>
      (closing ??= Promise.allSettled(teardowns.reverse().map(async (teardown) => teardown())).then((results) => {
        if (ownBus) bus.clear();
        for (const result of results) if (result.status === 'rejected') throw result.reason;
      })),
  });
}
