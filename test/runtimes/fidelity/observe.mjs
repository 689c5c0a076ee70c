// Runs one request shape through one client (the platform's fetch, or a pipeline) and describes, as plain data, all
// that the caller and the server can observe of it: the response or the rejection, the body read, the caller's Request
// afterwards, what happened to the caller's stream, and what reached the server. `differences` compares two of them.

// Ids are unique across the runtimes that share the server.
const run = Math.random().toString(36).slice(2, 8);
let calls = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A value as text: errors by name and message, strings quoted, arrays item by item. */
export function describe(value) {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value instanceof Error || (typeof value === 'object' && value !== null && 'name' in value && 'message' in value)) {
    return `${value.name}: ${value.message}`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** An error as the caller sees it: class, name, message, code, and its causes (two levels). */
export function describeError(error, reason, depth = 0) {
  if (error === undefined) return undefined;
  if (typeof error !== 'object' || error === null) return { thrown: describe(error), isReason: reason !== undefined && error === reason };
  return {
    class: error.constructor?.name,
    name: error.name,
    message: error.message,
    code: error.code,
    isReason: reason !== undefined && error === reason,
    cause: depth < 2 ? describeError(error.cause, undefined, depth + 1) : undefined,
  };
}

/**
 * A stream body that logs what is done to it: what the server had when the stream was asked for more, cancels. `after`
 * the first chunk it closes with a second, aborts the call (and waits) or fails.
 */
function probeStream(c, { after = 'close' } = {}) {
  const encoder = new TextEncoder();
  const head = encoder.encode('chunk-one;');
  let asked = false;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(head);
    },
    async pull(controller) {
      if (asked) return;
      asked = true;
      // The next chunk is given only once the server has the first, or after a while: a pipeline that reads the
      // stream to its end before sending makes the server wait, and the log says so.
      const asking = c.seen(head.byteLength);
      c.pending.push(asking);
      const seen = await asking;
      c.log.push(`server had the first chunk before the stream went on: ${seen}`);
      if (after === 'abort') return c.abort();
      if (after === 'error') return controller.error(new Error('the source failed'));
      controller.enqueue(encoder.encode('chunk-two'));
      controller.close();
      c.log.push('closed');
    },
    cancel(reason) {
      c.log.push(`cancelled: ${describe(reason)}`);
    },
  });
}

/** What a shape's `make` gets: URLs under this call's id, a probe stream, the call's abort controller. */
function context(server, id, closedPort) {
  const controller = new AbortController();
  const c = {
    id,
    log: [],
    pending: [],
    url: (path = 'echo') => `${server}/${id}/${path}`,
    refused: `http://127.0.0.1:${closedPort}/${id}/echo`,
    controller,
    reason: undefined,
    abort: (reason = c.reason) => controller.abort(reason),
    seen: async (bytes) => (await (await fetch(`${server}/seen/${id}?bytes=${bytes}`)).json()).seen,
    stream: (options) => probeStream(c, options),
  };
  return c;
}

async function describeResponse(response, read) {
  const seen = {
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    redirected: response.redirected,
    type: response.type,
    url: response.url,
    headers: [...response.headers].map(([name, value]) => [name, name === 'date' ? ':date' : value]),
    bodyUsed: response.bodyUsed,
  };
  try {
    seen.body = await read(response);
  } catch (error) {
    seen.bodyError = describeError(error);
  }
  return seen;
}

/**
 * Sends `shape` through `client` and describes what can be seen of it. `side` names the client in the call's id;
 * ids are replaced by `:id` and multipart boundaries by `:boundary`, so that two sides compare equal when they are.
 */
export async function observe(client, shape, { server, closedPort, side }) {
  const id = `${run}-${side}-${++calls}`;
  const c = context(server, id, closedPort);
  const call = shape.make(c);
  const read = call.read ?? ((response) => response.text());
  const seen = {};
  try {
    const response = await client(call.input, ...('init' in call ? [call.init] : []));
    seen.response = await describeResponse(response, (r) => read(r, c));
  } catch (error) {
    seen.error = describeError(error, call.reason ?? c.reason);
  }
  if (call.request) seen.callerRequest = { bodyUsed: call.request.bodyUsed };
  // A cancel may come a moment after the call settles: give the stream that long to say so.
  await Promise.all(c.pending);
  for (let i = 0; i < 30 && c.log.length > 0 && !c.log.some((l) => l === 'closed' || l.startsWith('cancelled')); i++) await sleep(10);
  seen.stream = c.log;
  seen.server = await (await fetch(`${server}/records/${id}`)).json();
  for (const record of seen.server) record.body = atob(record.body);
  return normalize(seen, id);
}

function normalize(seen, id) {
  let text = JSON.stringify(seen).replaceAll(id, ':id');
  for (const record of seen.server) {
    for (const [name, value] of record.headers) {
      const boundary = name.toLowerCase() === 'content-type' && value.match(/boundary=(.+)$/)?.[1];
      if (boundary) text = text.replaceAll(boundary, ':boundary');
    }
  }
  return JSON.parse(text);
}

/** Every path at which `a` and `b` differ, as `path: a → b`. */
export function differences(a, b, path = '') {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return [`${path || '(all)'}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((key) => differences(a[key], b[key], path ? `${path}.${key}` : key));
}
