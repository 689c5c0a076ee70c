import type { Context } from './types.js';

/** A call's request kept so that it can be sent again (see `keepForReplay`). */
export interface KeptRequest {
  /** What to send first: the request itself, or a copy whose body is kept as it flows to the server. */
  readonly first: Request;
  /**
   * A copy to send again once the server has answered. For a kept stream it waits for the rest of the body, which
   * the first send may have left unread; it resolves to undefined when the body could not be kept (larger than the
   * cap, failed or cancelled): that call is sent once only.
   */
  again(): Promise<Request | undefined>;
  /** Call it when no copy will be asked for: drops the kept bytes, and passes on a cancel the first send deferred. */
  release(): void;
}

/** The kept bytes of a one-shot body. */
interface Tape {
  /** Reads the next chunk from the body, keeping a copy. */
  pull(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** The whole body: reads what was not read yet. Undefined when it could not be kept. */
  rest(): Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** The first send gave up its body: cancel the caller's stream now if nothing may replay it, else at release. */
  cancel(reason: unknown): Promise<void>;
  release(): void;
}

// The requests whose body a tape keeps, so that an interceptor further in replays from that tape instead of keeping a
// second copy.
const tapes = new WeakMap<Request, Tape>();
const ignore = () => {};

/**
 * Keeps what `reader` reads, up to `maxBytes`. `alongside`: the reader is a clone's of its own, read beside the first
 * send; past the cap or at release it stops, so the platform's tee stops holding chunks for it.
 */
function createTape(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number, alongside: boolean): Tape {
  let chunks: Uint8Array<ArrayBuffer>[] | undefined = [];
  let size = 0;
  let ended = false;
  let released = false;
  let deferred: [unknown] | undefined;
  const drop = () => {
    chunks = undefined;
    if (alongside && !ended) reader.cancel().catch(ignore);
  };
  const tape: Tape = {
    async pull() {
      const result = await reader.read().catch((error) => {
        drop();
        throw error;
      });
      if (result.done) ended = true;
      else if (chunks) {
        const chunk = result.value;
        // A chunk of another type fails the send; it is not kept either. The copy is of the bytes as they were read,
        // whatever the caller or the transport does with the chunk afterwards.
        if (!(chunk instanceof Uint8Array) || (size += chunk.byteLength) > maxBytes) drop();
        else chunks.push(chunk.slice());
      }
      return result;
    },
    async rest() {
      while (!ended && chunks) await tape.pull();
      return chunks && new Uint8Array(await new Blob(chunks).arrayBuffer());
    },
    cancel(reason) {
      if (released || ended) return reader.cancel(reason);
      deferred = [reason];
      return Promise.resolve();
    },
    release() {
      released = true;
      if (deferred && !ended) reader.cancel(deferred[0]).catch(ignore);
      drop();
    },
  };
  return tape;
}

/** A copy of `template` with the tape's bytes as its body, itself replayable from the same tape. */
async function copyOf(template: Request, tape: Tape): Promise<Request | undefined> {
  const body = await tape.rest().catch(ignore);
  if (!body) return undefined;
  const copy = new Request(template, { body });
  tapes.set(copy, tape);
  return copy;
}

/** `request` with a body that streams the caller's chunks as the transport reads them, keeping a copy of each. */
function streamThrough(request: Request, tape: Tape): Request {
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await tape.pull();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => tape.cancel(reason),
    },
    // Read only when the transport asks, as it would read the caller's stream.
    { highWaterMark: 0 },
  );
  const first = new Request(request, { body, duplex: 'half' } as RequestInit);
  tapes.set(first, tape);
  return first;
}

const kept = (first: Request, again: KeptRequest['again'], release = ignore): KeptRequest => ({ first, again, release });

/**
 * Lets a request be sent more than once without holding its body back: the first send streams the body as it comes.
 * A body of a string, bytes, `Blob`, `FormData` or `URLSearchParams` is copied with `clone()`. A `ReadableStream` from
 * the caller, and the body of a caller's own `Request` (a Request does not tell what its body was made of), are copied
 * as they flow, up to `maxBytes`: past that the copy is dropped and the call is not replayable. A body that another
 * interceptor already keeps is replayed from its copy; one that cannot be copied (locked) is sent once, as it is.
 *
 * It never reads `request.body` of a body given as a string or bytes: Deno then sends that body chunked, without
 * content-length.
 */
export function keepForReplay(request: Request, ctx: Context, maxBytes: number): KeptRequest {
  const same = async () => request;
  const shared = tapes.get(request);
  if (shared) return kept(request, () => copyOf(request, shared));
  if (request.method === 'GET' || request.method === 'HEAD') return kept(request, same);
  if (ctx.streamBody && request !== ctx.callerRequest) {
    const body = request.body;
    if (!body) return kept(request, same);
    const tape = createTape(body.getReader(), maxBytes, false);
    return kept(streamThrough(request, tape), () => copyOf(request, tape), tape.release);
  }
  let copy: Request;
  try {
    copy = request.clone();
  } catch {
    return kept(request, async () => undefined);
  }
  if (!copy.body) return kept(request, same);
  if (request !== ctx.callerRequest) return kept(request, async () => copy.clone());
  // The caller's own: it goes first, as fetch would send it (and leaves it used); its clone is read beside it.
  const tape = createTape(copy.body.getReader(), maxBytes, true);
  tape.rest().catch(ignore);
  tapes.set(request, tape);
  return kept(request, () => copyOf(request, tape), tape.release);
}

/** A copy of `request` with headers changed; the original stays usable for a replay. */
export function withHeaders(request: Request, patch: Record<string, string | null>): Request {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return new Request(request.clone(), { headers });
}
