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

test.run();
