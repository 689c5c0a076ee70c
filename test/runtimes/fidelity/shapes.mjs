// The request shapes of the fidelity suite: each `make(c)` builds one call ({ input, init?, request?, reason?, read? })
// from the call's context (observe.mjs): `c.url(route)` under the call's id, `c.stream(options)` a probe stream, `c.abort`.
// Every shape is sent once through the platform's fetch and once through the pipeline; what each side sees must match.

const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256);
const post = (body, extra = {}) => ({ method: 'POST', body, ...extra });
const streamed = (c, options) => post(c.stream(options), { duplex: 'half' });

function form() {
  const data = new FormData();
  data.append('name', 'report');
  data.append('file', new Blob([bytes(300)], { type: 'application/octet-stream' }), 'data.bin');
  return data;
}

/** The caller's own Request, reported on afterwards (`bodyUsed`). */
const own = (input, init, extra = {}) => ({ input, request: input, ...(init === undefined ? {} : { init }), ...extra });

/** Reads the first chunk of the response body, aborts, then reads on. */
async function abortWhileReading(response, c) {
  const reader = response.body.getReader();
  const first = await reader.read();
  c.abort();
  await reader.read();
  return `${new TextDecoder().decode(first.value)} then more`;
}

export const bodies = [
  { name: 'a string body', make: (c) => ({ input: c.url(), init: post('héllo wörld ✓') }) },
  { name: 'an empty string body', make: (c) => ({ input: c.url(), init: post('') }) },
  { name: 'a Uint8Array body', make: (c) => ({ input: c.url(), init: post(bytes(777)) }) },
  { name: 'an ArrayBuffer body', make: (c) => ({ input: c.url(), init: post(bytes(64).buffer) }) },
  {
    name: 'a Blob body with a type',
    make: (c) => ({ input: c.url(), init: post(new Blob([bytes(500)], { type: 'application/x-thing' })) }),
  },
  { name: 'a FormData body with a file', make: (c) => ({ input: c.url(), init: post(form()) }) },
  {
    name: 'a URLSearchParams body',
    make: (c) => ({ input: c.url(), init: post(new URLSearchParams({ a: '1', b: 'two words', c: 'ü&=' })) }),
  },
  { name: 'a ReadableStream body with duplex half', make: (c) => ({ input: c.url(), init: streamed(c) }) },
  { name: 'a ReadableStream body without duplex', make: (c) => ({ input: c.url(), init: post(c.stream()) }) },
  { name: 'a ReadableStream body that fails midway', make: (c) => ({ input: c.url(), init: streamed(c, { after: 'error' }) }) },
  { name: 'a ReadableStream body answered before its end', make: (c) => ({ input: c.url('early'), init: streamed(c) }) },
  {
    name: 'a PUT with a stream body and a content-type',
    make: (c) => ({ input: c.url(), init: { ...streamed(c), method: 'PUT', headers: { 'content-type': 'text/csv' } } }),
  },
  { name: 'a GET with a body', make: (c) => ({ input: c.url(), init: { method: 'GET', body: 'x' } }) },
  { name: 'a lower-case patch method', make: (c) => ({ input: c.url(), init: { method: 'patch', body: '{"a":1}' } }) },
  {
    name: 'headers as pairs, a Headers object and a content-type of its own',
    make: (c) => ({
      input: new URL(c.url()),
      init: post('{"a":1}', {
        headers: [
          ['X-One', '1'],
          ['x-one', '2'],
          ['Content-Type', 'application/json'],
        ],
      }),
    }),
  },
];

export const requests = [
  { name: "a caller's Request with a string body", make: (c) => own(new Request(c.url(), post('request body'))) },
  { name: "a caller's Request with a stream body", make: (c) => own(new Request(c.url(), streamed(c))) },
  { name: "a caller's Request with a FormData body", make: (c) => own(new Request(c.url(), post(form()))) },
  { name: "a caller's GET Request", make: (c) => own(new Request(c.url(), { headers: { 'x-own': 'yes' } })) },
  {
    name: "a caller's Request with a string body and headers in init",
    make: (c) => own(new Request(c.url(), post('request body')), { headers: { 'x-init': '1' } }),
  },
  {
    name: "a caller's Request with a body replaced in init",
    make: (c) => own(new Request(c.url(), post('request body')), { body: 'init body' }),
  },
  {
    name: "a caller's Request with a stream body and a method in init",
    make: (c) => own(new Request(c.url(), streamed(c)), { method: 'PUT' }),
  },
  {
    name: "a caller's Request whose body was read",
    make: (c) => {
      const request = new Request(c.url(), post('already read'));
      request.text();
      return own(request);
    },
  },
  {
    name: "a caller's Request whose body is locked",
    make: (c) => {
      const request = new Request(c.url(), post('locked'));
      request.body.getReader();
      return own(request);
    },
  },
  {
    name: "a caller's Request whose body was read, with init",
    make: (c) => {
      const request = new Request(c.url(), post('already read'));
      request.text();
      return own(request, { headers: { 'x-init': '1' } });
    },
  },
];

export const redirects = [
  { name: 'a 302 followed', make: (c) => ({ input: c.url('redirect/302') }) },
  { name: 'a 307 followed with a string body', make: (c) => ({ input: c.url('redirect/307'), init: post('again') }) },
  { name: 'a 307 followed with a stream body', make: (c) => ({ input: c.url('redirect/307'), init: streamed(c) }) },
  { name: 'a 303 followed with a stream body', make: (c) => ({ input: c.url('redirect/303'), init: streamed(c) }) },
  { name: 'a 301 with redirect manual', make: (c) => ({ input: c.url('redirect/301'), init: { redirect: 'manual' } }) },
  { name: 'a 302 with redirect error', make: (c) => ({ input: c.url('redirect/302'), init: { redirect: 'error' } }) },
];

/** Aborts: `reason` is what the signal aborts with (undefined: the platform's own AbortError). */
const abortShapes = (label, reason) => [
  {
    name: `an abort before the call (${label})`,
    make: (c) => {
      c.reason = reason;
      c.abort();
      return { input: c.url(), init: post('never sent', { signal: c.controller.signal }), reason: c.controller.signal.reason };
    },
  },
  {
    name: `an abort during a streamed upload (${label})`,
    make: (c) => {
      c.reason = reason;
      return { input: c.url(), init: { ...streamed(c, { after: 'abort' }), signal: c.controller.signal } };
    },
  },
  {
    name: `an abort during the download (${label})`,
    make: (c) => {
      c.reason = reason;
      return { input: c.url('slow'), init: { signal: c.controller.signal }, read: abortWhileReading };
    },
  },
];

export const aborts = [
  ...abortShapes('an Error of its own', new Error('stopped by the caller')),
  ...abortShapes('a string', 'a string reason'),
  ...abortShapes('the default reason', undefined),
  {
    name: "an abort before the call, through the caller's Request signal with a body",
    make: (c) => {
      c.reason = new Error('stopped early');
      c.abort();
      return own(new Request(c.url(), post('never sent', { signal: c.controller.signal })), undefined, { reason: c.reason });
    },
  },
  {
    name: "an abort during a streamed upload, through the caller's Request signal",
    make: (c) => {
      c.reason = new Error('stopped midway');
      return own(new Request(c.url(), { ...streamed(c, { after: 'abort' }), signal: c.controller.signal }));
    },
  },
  {
    name: 'an abort while the server holds its answer',
    make: (c) => {
      c.reason = new Error('tired of waiting');
      c.seen(0).then(() => c.abort());
      return { input: c.url('hang'), init: { signal: c.controller.signal } };
    },
  },
  {
    name: 'AbortSignal.timeout while the server holds its answer',
    make: (c) => ({ input: c.url('hang'), init: { signal: AbortSignal.timeout(200) } }),
  },
];

export const failures = [
  { name: 'a bad URL', make: () => ({ input: 'not a url' }) },
  { name: 'a bad URL with an aborted signal', make: () => ({ input: 'http://', init: { signal: AbortSignal.abort() } }) },
  { name: 'an unsupported scheme', make: () => ({ input: 'ftp://127.0.0.1/file' }) },
  { name: 'a refused connection', make: (c) => ({ input: c.refused }) },
  { name: 'a refused connection with a stream body', make: (c) => ({ input: c.refused, init: post(c.stream(), { duplex: 'half' }) }) },
  { name: 'a bad header value', make: (c) => ({ input: c.url(), init: { headers: { 'x-bad': 'a\nb' } } }) },
];

export const answers = [
  { name: 'a HEAD', make: (c) => ({ input: c.url(), init: { method: 'HEAD' } }) },
  { name: 'a 204', make: (c) => ({ input: c.url('status/204'), init: { method: 'DELETE' } }) },
  { name: 'a 304', make: (c) => ({ input: c.url('status/304'), init: { headers: { 'if-none-match': '"v1"' } } }) },
  { name: 'a 404', make: (c) => ({ input: c.url('status/404') }) },
  { name: 'a 500 to a POST', make: (c) => ({ input: c.url('status/500'), init: post('{"a":1}') }) },
  { name: 'a 503 to a GET', make: (c) => ({ input: c.url('status/503') }) },
  { name: 'a 401 for another origin', make: (c) => ({ input: c.url('status/401') }) },
];

/** Every shape that must look the same through the transparent pipeline as through fetch. */
export const shapes = [...bodies, ...requests, ...redirects, ...aborts, ...failures, ...answers];
