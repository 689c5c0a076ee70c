import { type Context, createBus } from '@sluice/core';
import { bufferRequest, prepareReplay, withHeaders } from '@sluice/core/http';
import { createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

function streamRequest(...parts: string[]): Request {
  return new Request('https://api.example/up', { method: 'POST', body: streamOf(...parts), duplex: 'half' } as RequestInit);
}

function ctxFor(streamBody: boolean): Context {
  return { attempt: 1, signal: undefined, streamBody, state: {}, bus: createBus(), clock: createTestClock() };
}

test('a stream body under the cap is buffered and can be sent any number of times', async () => {
  const { request, replayable } = await bufferRequest(streamRequest('ab', 'cd'), 100);
  assert.ok(replayable);
  assert.is(await request.clone().text(), 'abcd');
  assert.is(await request.clone().text(), 'abcd');
});

test('a stream body over the cap is not replayable and loses nothing', async () => {
  const { request, replayable } = await bufferRequest(streamRequest('12345', '67890', 'abc'), 6);
  assert.is(replayable, false);
  assert.is(await request.text(), '1234567890abc');
});

test('prepareReplay leaves non-stream bodies alone and marks a buffered stream as no longer one-shot', async () => {
  const plain = new Request('https://api.example/', { method: 'POST', body: 'x' });
  const ctx = ctxFor(false);
  assert.is((await prepareReplay(plain, ctx, 10)).request, plain);
  const streaming = ctxFor(true);
  const prepared = await prepareReplay(streamRequest('hello'), streaming, 10);
  assert.ok(prepared.replayable);
  assert.is(streaming.streamBody, false);
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
