import { compose } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { retry429 } from '@sluice/retry-429';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive, ok, setup, tooMany, URL_ITEMS } from './helpers.js';

const bytes = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256);

function streamOf(data: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

const bodies: Array<[string, () => RequestInit]> = [
  [
    'a JSON string',
    () => ({
      body: JSON.stringify({ filter: { severity: ['high'] }, page_request: { size: 50 } }),
      headers: { 'content-type': 'application/json' },
    }),
  ],
  ['plain text', () => ({ body: 'héllo wörld ✓' })],
  ['URLSearchParams', () => ({ body: new URLSearchParams({ a: '1', b: 'two words', c: 'ü&=' }) })],
  [
    'FormData with a file',
    () => {
      const form = new FormData();
      form.append('name', 'report');
      form.append('file', new Blob([bytes(3000)], { type: 'application/octet-stream' }), 'data.bin');
      return { body: form };
    },
  ],
  ['a Blob', () => ({ body: new Blob([bytes(5000)], { type: 'application/x-thing' }) })],
  ['an ArrayBuffer', () => ({ body: bytes(4096).buffer })],
  ['a Uint8Array', () => ({ body: bytes(777) })],
  ['a ReadableStream under the cap', () => ({ body: streamOf(bytes(20_000)), duplex: 'half' }) as RequestInit],
];

for (const [what, init] of bodies) {
  test(`replays ${what} byte for byte, with the same content-type`, async () => {
    const s = setup();
    s.transport.queue(tooMany({ 'retry-after': '1' }), tooMany({ 'retry-after': '1' }), ok());
    const response = await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', ...init() }));
    assert.is(response.status, 200);
    const [first, ...replays] = s.transport.calls;
    assert.ok(first?.body && first.body.length > 0, 'the first attempt carried the body');
    assert.is(replays.length, 2);
    for (const replay of replays) {
      assert.equal(replay.body, first.body);
      assert.is(replay.headers.get('content-type'), first.headers.get('content-type'));
    }
  });
}

test('the stream replay carries exactly what the caller streamed', async () => {
  const data = bytes(20_000, 3);
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', body: streamOf(data), duplex: 'half' } as RequestInit));
  assert.equal(s.transport.calls[0]?.body, data);
  assert.equal(s.transport.calls[1]?.body, data);
});

test('a stream over maxBufferBytes is sent once, whole, and a 429 comes back as is with body-not-replayable', async () => {
  const data = bytes(50_000, 5);
  const s = setup({ maxBufferBytes: 10_000 });
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  const response = await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', body: streamOf(data), duplex: 'half' } as RequestInit));
  assert.is(response.status, 429);
  assert.is(s.transport.calls.length, 1, 'never sent again, so never with an empty body');
  assert.equal(s.transport.calls[0]?.body, data);
  assert.equal(s.of('retry:exhausted'), [{ method: 'POST', url: URL_ITEMS, attempts: 1, status: 429, reason: 'body-not-replayable' }]);
  assert.is(s.of('rate-limit:exceeded').length, 1, 'rate-limit still hears of the 429');
});

test('a stream over the cap that succeeds is simply sent once', async () => {
  const data = bytes(30_000, 9);
  const s = setup({ maxBufferBytes: 1000 });
  s.transport.queue(ok());
  const response = await s.fetch(URL_ITEMS, { method: 'PUT', body: streamOf(data), duplex: 'half' } as RequestInit);
  assert.is(response.status, 200);
  assert.equal(s.transport.calls[0]?.body, data);
});

test('a stream exactly at the cap is still replayable', async () => {
  const data = bytes(4000);
  const s = setup({ maxBufferBytes: 4000 });
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  assert.is(
    (await drive(s.clock, s.fetch(URL_ITEMS, { method: 'POST', body: streamOf(data), duplex: 'half' } as RequestInit))).status,
    200,
  );
  assert.equal(s.transport.calls[1]?.body, data);
});

test('replays keep method, URL with query, and headers', async () => {
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  await drive(s.clock, s.fetch(`${URL_ITEMS}?page=2`, { method: 'PATCH', body: '{"a":1}', headers: { 'x-custom': 'yes' } }));
  const [a, b] = s.transport.calls;
  assert.is(b?.method, 'PATCH');
  assert.is(b?.url, a?.url);
  assert.is(b?.url, `${URL_ITEMS}?page=2`);
  assert.is(b?.headers.get('x-custom'), 'yes');
});

/**
 * A transport that reads the body as a socket would, chunk by chunk, and answers `answers` in turn; `firstChunks` is how
 * many chunks it reads before answering (all if undefined). `got()` tells whether it has a chunk of the current call.
 */
function wireTransport(answers: Array<() => Response>, firstChunks?: number) {
  const bodies: string[] = [];
  let gotChunk = false;
  const fetch = async (request: Request) => {
    gotChunk = false;
    const reader = (request.body as ReadableStream<Uint8Array>).getReader();
    let body = '';
    for (let n = 0; bodies.length > 0 || firstChunks === undefined || n < firstChunks; n++) {
      const { done, value } = await reader.read();
      if (done) break;
      gotChunk = true;
      body += new TextDecoder().decode(value);
    }
    bodies.push(body);
    return (answers.shift() ?? ok)();
  };
  return { fetch, bodies, got: () => gotChunk };
}

/** A caller's stream of two parts: the second comes a macrotask after it is asked for, noting what `got()` said then. */
function twoParts(got: () => boolean, notes: boolean[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(encoder.encode('part-one;')),
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      notes.push(got());
      controller.enqueue(encoder.encode('part-two'));
      controller.close();
    },
  });
}

test('a streamed body reaches the transport as it comes: its first chunk is there before the stream has its second', async () => {
  const wire = wireTransport([ok]);
  const notes: boolean[] = [];
  const fetch = compose([retry429()], { fetch: wire.fetch });
  const body = twoParts(wire.got, notes);
  await fetch(URL_ITEMS, { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.equal(notes, [true], 'the transport had the first chunk when the stream was asked for the second');
  assert.equal(wire.bodies, ['part-one;part-two']);
});

test('a 429 answered before the body was read replays the whole body', async () => {
  const clock = createTestClock();
  const wire = wireTransport([tooMany({ 'retry-after': '1' })], 1);
  const fetch = compose([retry429()], { fetch: wire.fetch, clock });
  const body = streamOf(new TextEncoder().encode('abc'.repeat(1000)), 1000);
  const response = await drive(clock, fetch(URL_ITEMS, { method: 'POST', body, duplex: 'half' } as RequestInit));
  assert.is(response.status, 200);
  assert.equal(
    wire.bodies.map((b) => b.length),
    [1000, 3000],
    'the first send was answered after one chunk; the replay carried all three',
  );
});

test("the caller's Request is used up by the call, as fetch leaves it", async () => {
  const s = setup();
  s.transport.queue(ok());
  const request = new Request(URL_ITEMS, { method: 'POST', body: 'once' });
  await s.fetch(request);
  assert.ok(request.bodyUsed);
  assert.is(s.transport.calls[0]?.text, 'once');
});

test("a caller's Request with a stream body is replayed byte for byte after a 429", async () => {
  const data = bytes(20_000, 11);
  const s = setup();
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  const request = new Request(URL_ITEMS, { method: 'POST', body: streamOf(data), duplex: 'half' } as RequestInit);
  assert.is((await drive(s.clock, s.fetch(request))).status, 200);
  assert.ok(request.bodyUsed);
  assert.equal(s.transport.calls[0]?.body, data);
  assert.equal(s.transport.calls[1]?.body, data);
});

test("a caller's Request over maxBufferBytes is sent once and its 429 comes back with body-not-replayable", async () => {
  const data = bytes(30_000, 13);
  const s = setup({ maxBufferBytes: 10_000 });
  s.transport.queue(tooMany({ 'retry-after': '1' }), ok());
  const request = new Request(URL_ITEMS, { method: 'POST', body: streamOf(data), duplex: 'half' } as RequestInit);
  assert.is((await drive(s.clock, s.fetch(request))).status, 429);
  assert.is(s.transport.calls.length, 1);
  assert.equal(s.transport.calls[0]?.body, data);
  assert.equal(
    s.of('retry:exhausted').map((e) => e.reason),
    ['body-not-replayable'],
  );
});

test.run();
