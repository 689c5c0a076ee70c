import { type Context, createBus } from '@sluice/core';
import { keepForReplay, withHeaders } from '@sluice/core/http';
import { createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const encoder = new TextEncoder();
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** A caller's stream: its parts as chunks; `events` logs each pull past the first part and each cancel. */
function streamOf(parts: string[], events: string[] = []): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i > 0) events.push(`pulled part ${i + 1}`);
      if (i < parts.length) controller.enqueue(encoder.encode(parts[i++] as string));
      else controller.close();
    },
    cancel(reason) {
      events.push(`cancelled: ${String(reason)}`);
    },
  });
}

const streamRequest = (body: ReadableStream<Uint8Array>) =>
  new Request('https://api.example/up', { method: 'POST', body, duplex: 'half' } as RequestInit);

function ctxFor(init: { streamBody?: boolean; callerRequest?: Request } = {}): Context {
  return { attempt: 1, signal: undefined, streamBody: false, state: {}, bus: createBus(), clock: createTestClock(), ...init };
}

async function readAll(request: Request | undefined): Promise<string> {
  assert.ok(request, 'a copy');
  return request.text();
}

test('a string body goes first as the request itself, and each replay is a copy of it', async () => {
  const request = new Request('https://api.example/', { method: 'POST', body: 'payload', headers: { 'content-type': 'text/x' } });
  const kept = keepForReplay(request, ctxFor(), 10);
  assert.is(kept.first, request);
  assert.is(await kept.first.text(), 'payload');
  const again = await kept.again();
  assert.is(again?.headers.get('content-type'), 'text/x');
  assert.is(await readAll(again), 'payload');
  assert.is(await readAll(await kept.again()), 'payload', 'the cap applies to streams only');
});

test('never reads request.body of a body given as a string (Deno would then send it chunked)', async () => {
  const request = new Request('https://api.example/', { method: 'POST', body: 'payload' });
  let read = 0;
  Object.defineProperty(request, 'body', {
    get: () => {
      read++;
      return Reflect.get(Request.prototype, 'body', request);
    },
  });
  const kept = keepForReplay(request, ctxFor(), 10);
  await kept.again();
  assert.is(read, 0);
});

test('a stream body flows to the transport as it comes: its first chunk is there before the stream has its second', async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(encoder.encode('one;')),
    async pull(controller) {
      await gate;
      controller.enqueue(encoder.encode('two'));
      controller.close();
    },
  });
  const kept = keepForReplay(streamRequest(body), ctxFor({ streamBody: true }), 100);
  const reader = (kept.first.body as ReadableStream<Uint8Array>).getReader();
  const first = await Promise.race([reader.read(), new Promise((resolve) => setTimeout(resolve, 0, 'held back'))]);
  assert.is(text((first as ReadableStreamReadResult<Uint8Array>).value), 'one;');
  open();
  assert.is(text((await reader.read()).value), 'two');
  assert.is(await readAll(await kept.again()), 'one;two');
});

test('the copy of a stream is filled as the body flows and replays it byte for byte, any number of times', async () => {
  const kept = keepForReplay(streamRequest(streamOf(['ab', 'cd'])), ctxFor({ streamBody: true }), 100);
  assert.is(await kept.first.text(), 'abcd');
  assert.is(await readAll(await kept.again()), 'abcd');
  assert.is(await readAll(await kept.again()), 'abcd');
});

test('a stream over the cap still flows whole, and cannot be replayed', async () => {
  const kept = keepForReplay(streamRequest(streamOf(['12345', '67890', 'abc'])), ctxFor({ streamBody: true }), 6);
  assert.is(await kept.first.text(), '1234567890abc');
  assert.is(await kept.again(), undefined);
});

test('a stream exactly at the cap can be replayed', async () => {
  const kept = keepForReplay(streamRequest(streamOf(['123', '456'])), ctxFor({ streamBody: true }), 6);
  assert.is(await kept.first.text(), '123456');
  assert.is(await readAll(await kept.again()), '123456');
});

test('what the first send left unread is read for the replay', async () => {
  const kept = keepForReplay(streamRequest(streamOf(['one;', 'two;', 'three'])), ctxFor({ streamBody: true }), 100);
  await (kept.first.body as ReadableStream<Uint8Array>).getReader().read();
  assert.is(await readAll(await kept.again()), 'one;two;three');
});

test("a cancel from the transport reaches the caller's stream once no replay can want it", async () => {
  const events: string[] = [];
  const kept = keepForReplay(streamRequest(streamOf(['one;', 'two'], events)), ctxFor({ streamBody: true }), 100);
  await (kept.first.body as ReadableStream<Uint8Array>).cancel('gone');
  assert.equal(events, [], 'kept for a replay meanwhile');
  kept.release();
  assert.equal(events, ['cancelled: gone']);
});

test("the caller's own Request goes first as it is, and is copied as it flows, up to the cap", async () => {
  const request = streamRequest(streamOf(['ab', 'cd']));
  const kept = keepForReplay(request, ctxFor({ callerRequest: request }), 100);
  assert.is(kept.first, request);
  assert.is(await request.text(), 'abcd');
  assert.ok(request.bodyUsed, 'sending it uses it up');
  assert.is(await readAll(await kept.again()), 'abcd');

  const big = streamRequest(streamOf(['12345', '67890']));
  const over = keepForReplay(big, ctxFor({ callerRequest: big }), 6);
  assert.is(await big.text(), '1234567890');
  assert.is(await over.again(), undefined);
});

test("a caller's Request with a string body is copied too, since a Request does not tell what its body was made of", async () => {
  const request = new Request('https://api.example/', { method: 'PUT', body: 'from a string' });
  const kept = keepForReplay(request, ctxFor({ callerRequest: request }), 100);
  assert.is(await request.text(), 'from a string');
  assert.is(await readAll(await kept.again()), 'from a string');
});

test('an interceptor further in replays from the same copy instead of keeping its own', async () => {
  const ctx = ctxFor({ streamBody: true });
  const outer = keepForReplay(streamRequest(streamOf(['ab', 'cd'])), ctx, 100);
  const inner = keepForReplay(outer.first, ctx, 0);
  assert.is(inner.first, outer.first, 'nothing copied');
  assert.is(await inner.first.text(), 'abcd');
  assert.is(await readAll(await inner.again()), 'abcd', 'its own cap of 0 did not apply: the copy is the outer one');
  const replay = await outer.again();
  assert.is(await readAll(await keepForReplay(replay as Request, ctx, 0).again()), 'abcd');
});

test('a GET or HEAD is sent again as it is', async () => {
  for (const method of ['GET', 'HEAD']) {
    const request = new Request('https://api.example/', { method });
    const kept = keepForReplay(request, ctxFor(), 10);
    assert.is(kept.first, request);
    assert.is(await kept.again(), request);
  }
});

test('a body that cannot be copied (locked) is sent once, as it is', async () => {
  const request = new Request('https://api.example/', { method: 'POST', body: 'x' });
  request.body?.getReader();
  const kept = keepForReplay(request, ctxFor({ callerRequest: request }), 10);
  assert.is(kept.first, request);
  assert.is(await kept.again(), undefined);
});

test('release drops the copy: a stream replay is no longer possible', async () => {
  const kept = keepForReplay(streamRequest(streamOf(['ab'])), ctxFor({ streamBody: true }), 100);
  await kept.first.text();
  kept.release();
  assert.is(await kept.again(), undefined);
});

test('withHeaders copies the request with changed headers and leaves the original usable', async () => {
  const original = new Request('https://api.example/', { method: 'POST', body: 'payload', headers: { 'x-a': '1', 'x-b': '2' } });
  const copy = withHeaders(original, { authorization: 'Bearer t', 'x-b': null });
  assert.is(copy.headers.get('authorization'), 'Bearer t');
  assert.is(copy.headers.has('x-b'), false);
  assert.is(original.headers.has('authorization'), false);
  assert.is(await copy.text(), 'payload');
  assert.is(await original.text(), 'payload');
});

test.run();
