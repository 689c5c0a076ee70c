import type { Clock } from '../clock.js';

/** One request as the fake transport saw it, body already read. */
export interface RecordedCall {
  request: Request;
  method: string;
  url: string;
  headers: Headers;
  body: Uint8Array | null;
  /** Body decoded as UTF-8, or `null`. */
  text: string | null;
  /** Clock time when the request arrived. */
  at: number;
}

/** What a script step answers: a response, an error to throw, or a function computing either. */
export type Reply = Response | Error | ((call: RecordedCall) => Response | Error | Promise<Response | Error>);

export interface FakeTransport {
  /** Pass as `compose(..., { fetch })`. */
  readonly fetch: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  /** Every request received, in order. */
  readonly calls: RecordedCall[];
  /** Queues answers used once each, in order, before the fallback. */
  queue(...replies: Reply[]): FakeTransport;
  /** Answers every request once the queue is empty. */
  fallback(reply: Reply): FakeTransport;
  /** Requests being answered right now. */
  readonly inFlight: number;
}

/**
 * A scriptable transport that records requests and answers from a queue, then from a fallback.
 * With neither, it rejects, naming the request, so a test sees which call it did not script.
 */
export function createFakeTransport(options: { clock?: Clock } = {}): FakeTransport {
  const calls: RecordedCall[] = [];
  const replies: Reply[] = [];
  let fallbackReply: Reply | undefined;
  let inFlight = 0;

  const answer = async (call: RecordedCall): Promise<Response> => {
    const reply = replies.length > 0 ? replies.shift() : fallbackReply;
    if (reply === undefined) throw new Error(`fake transport: nothing scripted for ${call.method} ${call.url}`);
    const result = typeof reply === 'function' ? await reply(call) : reply;
    if (result instanceof Error) throw result;
    return result;
  };

  const transport: FakeTransport = {
    async fetch(input, init) {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      const at = options.clock?.now() ?? Date.now();
      inFlight++;
      try {
        const body = request.body ? new Uint8Array(await request.arrayBuffer()) : null;
        const call: RecordedCall = {
          request,
          method: request.method,
          url: request.url,
          // A snapshot, as the wire saw it: the pipeline may set headers in place on a request it sends again.
          headers: new Headers([...request.headers]),
          body,
          text: body ? new TextDecoder().decode(body) : null,
          at,
        };
        calls.push(call);
        if (request.signal.aborted) throw request.signal.reason;
        return await answer(call);
      } finally {
        inFlight--;
      }
    },
    calls,
    queue(...more) {
      replies.push(...more);
      return transport;
    },
    fallback(reply) {
      fallbackReply = reply;
      return transport;
    },
    get inFlight() {
      return inFlight;
    },
  };
  return transport;
}

/** A JSON response, for scripts. */
export function json(body: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(body), { ...init, headers });
}
