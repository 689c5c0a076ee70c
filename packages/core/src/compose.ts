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
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  readonly events: EventBus;
  readonly clock: Clock;
  /** Tears down every interceptor (timers, listeners, queued waiters); later calls reject with `ClosedError`. */
  close(): Promise<void>;
}

function validate(interceptors: readonly Interceptor[]): void {
  if (!Array.isArray(interceptors)) throw new TypeError('`interceptors` must be an array of interceptors');
  interceptors.forEach((interceptor, i) => {
    if (typeof interceptor?.name !== 'string' || typeof interceptor.handle !== 'function') {
      throw new TypeError(`\`interceptors[${i}]\` must be an object with a \`name\` string and a \`handle\` function`);
    }
  });
}

function isResponse(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers === 'object'
  );
}

function callerSignal(input: RequestInfo | URL, init?: RequestInit): AbortSignal | undefined {
  if (init?.signal) return init.signal;
  return input instanceof Request ? input.signal : undefined;
}

// Settles with the pipeline, or with the signal's reason the moment it aborts, whichever comes first.
function raceAbort(result: Promise<Response>, signal: AbortSignal): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // The pipeline's synchronous start may already have aborted it.
    if (signal.aborted) onAbort();
    result.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Composes interceptors into a fetch-compatible function. The first interceptor is the outermost. */
export function compose(interceptors: readonly Interceptor[], options: ComposeOptions = {}): SluiceFetch {
  validate(interceptors);
  const list = interceptors.slice();
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

  const send = (request: Request): Promise<Response> => (transport ? transport(request) : globalThis.fetch(request));

  // One step of the onion. A synchronous throw becomes a rejection; a non-Response is an InterceptorError.
  const dispatch = (index: number, request: Request, ctx: Context): Promise<Response> => {
    const interceptor = list[index];
    try {
      if (!interceptor) {
        const hook = ctx.state.beforeSend;
        return hook ? Promise.resolve(hook(request)).then(send) : send(request);
      }
      const next: Next = (nextRequest, nextCtx) => dispatch(index + 1, nextRequest, nextCtx ?? ctx);
      return Promise.resolve(interceptor.handle(request, next, ctx)).then((response) => {
        if (isResponse(response)) return response;
        throw new InterceptorError(interceptor.name, 'handle() must resolve with a Response');
      });
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const sluiceFetch = function sluiceFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    if (closing) return Promise.reject(new ClosedError());
    const signal = callerSignal(input, init);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let request: Request;
    try {
      // Always a copy: the requests in the chain belong to the pipeline, so interceptors may set headers on
      // them in place (a token) without the caller's Request ever carrying them.
      request = new Request(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    const ctx: Context = {
      attempt: 1,
      signal,
      streamBody: init?.body instanceof ReadableStream,
      state: {},
      bus,
      clock,
    };
    const result = dispatch(0, request, ctx);
    return signal ? raceAbort(result, signal) : result;
  } as SluiceFetch;

  Object.defineProperties(sluiceFetch, {
    events: { value: bus, enumerable: true },
    clock: { value: clock, enumerable: true },
    close: {
      value: function close(): Promise<void> {
        closing ??= (async () => {
          const results = await Promise.allSettled(teardowns.reverse().map(async (teardown) => teardown()));
          if (ownBus) bus.clear();
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
        })();
        return closing;
      },
    },
  });
  return sluiceFetch;
}
