import { compose, type Interceptor } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const passthrough: Interceptor = { name: 'passthrough', handle: (request, next) => next(request) };

function setup() {
  const transport = createFakeTransport().fallback(() => new Response('ok'));
  return { transport, fetch: compose([passthrough], { fetch: transport.fetch }) };
}

test('accepts a string URL with init and passes method, headers and body through', async () => {
  const { transport, fetch } = setup();
  await fetch('https://api.example/v2/incidents/list', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-extra': '1' },
    body: JSON.stringify({ a: 1 }),
  });
  const call = transport.calls[0]!;
  assert.is(call.method, 'POST');
  assert.is(call.url, 'https://api.example/v2/incidents/list');
  assert.is(call.headers.get('x-extra'), '1');
  assert.is(call.text, '{"a":1}');
});

test('accepts a URL object', async () => {
  const { transport, fetch } = setup();
  await fetch(new URL('https://api.example/v2/event-details?ids=a,b'));
  assert.is(transport.calls[0]!.url, 'https://api.example/v2/event-details?ids=a,b');
});

test('accepts a Request with a body and keeps its fields', async () => {
  const { transport, fetch } = setup();
  const request = new Request('https://api.example/x', {
    method: 'PATCH',
    body: 'patch-body',
    redirect: 'manual',
    credentials: 'omit',
    headers: { 'x-a': 'b' },
  });
  await fetch(request);
  const seen = transport.calls[0]!.request;
  assert.is(seen.method, 'PATCH');
  assert.is(seen.redirect, 'manual');
  assert.is(seen.credentials, 'omit');
  assert.is(seen.headers.get('x-a'), 'b');
  assert.is(transport.calls[0]!.text, 'patch-body');
});

test('a Request with an init overriding fields uses the override', async () => {
  const { transport, fetch } = setup();
  await fetch(new Request('https://api.example/x', { method: 'POST', body: 'a' }), { method: 'PUT', body: 'b' });
  assert.is(transport.calls[0]!.method, 'PUT');
  assert.is(transport.calls[0]!.text, 'b');
});

test('a streaming body with duplex half passes through and is flagged as one-shot', async () => {
  const transport = createFakeTransport().fallback(() => new Response('ok'));
  let flagged: boolean | undefined;
  const probe: Interceptor = {
    name: 'probe',
    handle(request, next, ctx) {
      flagged = ctx.streamBody;
      return next(request);
    },
  };
  const fetch = compose([probe], { fetch: transport.fetch });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('chunk-1,'));
      controller.enqueue(new TextEncoder().encode('chunk-2'));
      controller.close();
    },
  });
  await fetch('https://api.example/upload', { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.is(flagged, true);
  assert.is(transport.calls[0]!.text, 'chunk-1,chunk-2');
});

test('the response reaches the caller untouched', async () => {
  const transport = createFakeTransport().fallback(() => new Response('{"x":1}', { status: 418, headers: { 'x-r': '1' } }));
  const fetch = compose([passthrough], { fetch: transport.fetch });
  const response = await fetch('https://api.example/');
  assert.is(response.status, 418);
  assert.is(response.headers.get('x-r'), '1');
  assert.equal(await response.json(), { x: 1 });
});

test('an invalid URL rejects like fetch does, with a TypeError', async () => {
  const { fetch } = setup();
  try {
    await fetch('not a url');
    assert.unreachable('should reject');
  } catch (error) {
    assert.instance(error, TypeError);
  }
});

/** What the platform's fetch rejects with, as class name and message. */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'resolved';
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

// The platform's fetch refuses these before any I/O: no server is needed.
test("a Request whose body was read is refused with fetch's own error, not clone()'s", async () => {
  const fetch = compose([passthrough]);
  const used = () => {
    const request = new Request('http://127.0.0.1:9/', { method: 'POST', body: 'x' });
    request.text();
    return request;
  };
  const expected = await refusal(globalThis.fetch(used()));
  assert.match(expected, /^TypeError: /);
  assert.is(await refusal(fetch(used())), expected);
  assert.is(
    await refusal(fetch(used(), { headers: { 'x-a': '1' } })),
    await refusal(globalThis.fetch(used(), { headers: { 'x-a': '1' } })),
  );
});

test("an aborted call with a caller's Request uses up its body, as fetch does", async () => {
  const fetch = compose([passthrough]);
  const reason = new Error('stop');
  const request = new Request('http://127.0.0.1:9/', { method: 'POST', body: 'x', signal: AbortSignal.abort(reason) });
  assert.is(await fetch(request).catch((error) => error), reason);
  assert.ok(request.bodyUsed);
});

test('a bad URL with an aborted signal rejects with the TypeError, as fetch does: the Request comes before the signal', async () => {
  const { fetch } = setup();
  const signal = AbortSignal.abort();
  assert.is(await refusal(fetch('http://', { signal })), await refusal(globalThis.fetch('http://', { signal })));
});

test.run();
