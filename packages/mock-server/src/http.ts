/** An error answer a route decided on; the handler turns it into a JSON response. */
export class Problem extends Error {
  override name = 'Problem';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const problem = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  new Problem(status, code, message, headers);

/** Error bodies: `{ "error": { "code", "message" }, "request_id" }`. Never echoes tokens, keys or the body. */
export function errorBody(code: string, message: string, requestId: string) {
  return { error: { code, message }, request_id: requestId };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof Problem) throw error;
    if (request.signal.aborted) throw request.signal.reason;
    throw problem(400, 'invalid_request', 'the request body could not be read');
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): Problem {
  return problem(413, 'payload_too_large', `the request body is larger than ${maxBytes} bytes`);
}

/**
 * Reads a JSON object body. An empty body reads as `undefined`. Anything else that is not a JSON
 * object answers 400 (the content type is not checked, as many real APIs do not).
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  const bytes = await readCapped(request, maxBytes);
  if (bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw problem(400, 'invalid_json', 'the request body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problem(400, 'invalid_json', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw problem(400, 'invalid_request', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
