import type { Context } from './types.js';

export interface BufferedRequest {
  /** A request that can be cloned and sent again, or the original stream if it was over the cap. */
  request: Request;
  /** False when the body was larger than the cap: the returned request can be sent once only. */
  replayable: boolean;
}

/**
 * Reads a one-shot body into memory, up to `maxBytes`, so the request can be replayed byte for byte.
 * Over the cap, nothing is lost: the returned request streams what was read followed by the rest.
 */
export async function bufferRequest(request: Request, maxBytes: number): Promise<BufferedRequest> {
  if (request.body === null) return { request, replayable: true };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      const body = concatStream(chunks, reader);
      return { request: new Request(request, { body, duplex: 'half' } as RequestInit), replayable: false };
    }
  }
  return { request: new Request(request, { body: concat(chunks, size) }), replayable: true };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function concatStream(head: Uint8Array[], rest: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) return controller.enqueue(head[i++] as Uint8Array);
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => rest.cancel(reason),
  });
}

/**
 * Makes `request` safe to send more than once. Bodies given as strings, bytes, `Blob`, `FormData` or
 * `URLSearchParams` already are (send `request.clone()` each time). A caller's `ReadableStream` is read
 * into memory up to `maxBytes`; past that the result is not replayable and must be sent once, as is.
 */
export async function prepareReplay(request: Request, ctx: Context, maxBytes: number): Promise<BufferedRequest> {
  if (request.body === null || !ctx.streamBody) return { request, replayable: true };
  const buffered = await bufferRequest(request, maxBytes);
  if (buffered.replayable) ctx.streamBody = false;
  return buffered;
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
