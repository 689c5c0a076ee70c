import { authToken } from '@sluice/auth-token';
import { compose } from '@sluice/core';
import { json } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, bearer, harness, KEY, TOKEN_PATH } from './helpers.js';

const SECOND = 1000;

test('a 401 drops the token, gets a fresh one and replays the POST with the same JSON body', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.api.revokeAll();
  const body = { filter: { severity: ['high'] }, page_request: { size: 50 } };
  const response = await h.fetch(`${API}/v2/incidents/list`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.is(response.status, 200);
  const posts = h.apiCalls().filter((c) => c.method === 'POST');
  assert.is(posts.length, 2);
  assert.equal(
    posts.map((c) => JSON.parse(c.text ?? '')),
    [body, body],
  );
  assert.equal(posts.map(bearer), ['tok-1', 'tok-2']);
  assert.is(posts[1]?.headers.get('content-type'), 'application/json');
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', '401'],
  );
  assert.equal(h.of('auth:token-invalidated'), [
    { keyId: h.of('auth:token-acquired')[0]?.keyId as string, reason: '401', method: 'POST', url: `${API}/v2/incidents/list` },
  ]);
});

test('replays a streamed body byte for byte', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.api.revokeAll();
  const text = JSON.stringify({ ids: Array.from({ length: 100 }, (_, i) => `id-${i}`) });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(text);
      controller.enqueue(bytes.slice(0, 100));
      controller.enqueue(bytes.slice(100));
      controller.close();
    },
  });
  const response = await h.fetch(`${API}/v2/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.is(response.status, 200);
  assert.equal(
    h
      .apiCalls()
      .filter((c) => c.method === 'POST')
      .map((c) => c.text),
    [text, text],
  );
});

test('a streamed body over maxReplayBytes is sent once and its 401 goes to the caller', async () => {
  const h = harness({ maxReplayBytes: 10 });
  await h.fetch(`${API}/v2/warm`);
  h.api.revokeAll();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('0123456789abcdef'));
      controller.close();
    },
  });
  const response = await h.fetch(`${API}/v2/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.is(response.status, 401);
  assert.is(h.apiCalls().filter((c) => c.method === 'POST')[0]?.text, '0123456789abcdef');
  assert.is(h.apiCalls().filter((c) => c.method === 'POST').length, 1);
  // The rejected token was still dropped: the next request gets a fresh one.
  assert.is((await h.fetch(`${API}/v2/next`)).status, 200);
  assert.is(h.api.exchanges, 2);
});

test('a second 401 goes to the caller without another exchange', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.api.intercept = (call) => (call.url.endsWith('/items') ? json({ error: 'unauthorized' }, { status: 401 }) : undefined);
  const response = await h.fetch(`${API}/v2/items`);
  assert.is(response.status, 401);
  assert.is(h.api.exchanges, 2);
  assert.is(h.apiCalls().length, 3);
  assert.equal(h.apiCalls().slice(1).map(bearer), ['tok-1', 'tok-2']);
  // The fresh token stays cached: the second 401 did not drop it.
  h.api.intercept = undefined;
  assert.is((await h.fetch(`${API}/v2/items`)).status, 200);
  assert.is(h.api.exchanges, 2);
});

test('a hundred concurrent 401s cause one exchange and every request is replayed', async () => {
  const h = harness({ tokenDelayMs: SECOND });
  const first = h.fetch(`${API}/v2/warm`);
  await h.clock.advance(SECOND);
  await first;
  h.api.revokeAll();
  const all = Promise.all(Array.from({ length: 100 }, (_, i) => h.fetch(`${API}/v2/items/${i}`)));
  await h.clock.advance(SECOND);
  const responses = await all;
  assert.ok(responses.every((r) => r.status === 200));
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-invalidated').length, 1);
  assert.is(h.apiCalls().filter((c) => bearer(c) === 'tok-2').length, 100);
});

test('a late 401 for a token that was already replaced triggers no exchange and is replayed with the current token', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  // The first request's answer is held back until after the token was replaced.
  let release!: (r: Response) => void;
  h.api.intercept = (call) =>
    call.url.endsWith('/slow') && !release ? new Promise<Response>((resolve) => (release = resolve)) : undefined;
  const slow = h.fetch(`${API}/v2/slow`);
  await h.clock.flush();
  await h.clock.advance(720 * SECOND);
  await h.fetch(`${API}/v2/trigger-refresh`);
  await h.clock.flush();
  assert.is(h.api.exchanges, 2);
  release(json({ error: 'expired' }, { status: 401 }));
  const response = await slow;
  assert.is(response.status, 200);
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-invalidated').length, 0);
  assert.is(bearer(h.apiCalls().at(-1)), 'tok-2');
});

test('a 401 while a refresh is in flight joins that refresh', async () => {
  const h = harness({ tokenDelayMs: 5 * SECOND });
  const first = h.fetch(`${API}/v2/warm`);
  await h.clock.advance(5 * SECOND);
  await first;
  await h.clock.advance(720 * SECOND);
  await h.fetch(`${API}/v2/trigger-refresh`);
  h.api.revokeAll();
  const replayed = h.fetch(`${API}/v2/items`);
  await h.clock.advance(5 * SECOND);
  assert.is((await replayed).status, 200);
  assert.is(h.api.exchanges, 2);
  assert.equal(
    h.of('auth:token-acquired').map((e) => e.reason),
    ['initial', 'refresh-ahead'],
  );
});

test('revocation of every token mid-run: one exchange, no failed request', async () => {
  const h = harness();
  const statuses: number[] = [];
  for (let i = 0; i < 300; i++) {
    if (i === 150) h.api.revokeAll();
    statuses.push((await h.fetch(`${API}/v2/items/${i}`)).status);
    await h.clock.advance(SECOND);
  }
  assert.ok(statuses.every((s) => s === 200));
  assert.is(h.api.exchanges, 2);
  assert.is(h.of('auth:token-invalidated').length, 1);
});

test('other statuses are returned untouched and keep the token', async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  const answers = [json({ error: 'forbidden' }, { status: 403 }), json({ error: 'slow down' }, { status: 429 })];
  h.api.intercept = () => answers.shift();
  assert.is((await h.fetch(`${API}/v2/a`)).status, 403);
  assert.is((await h.fetch(`${API}/v2/a`)).status, 429);
  assert.is(h.api.exchanges, 1);
});

test('a streamed body reaches the server as it comes, and its 401 replays it byte for byte', async () => {
  const encoder = new TextEncoder();
  const bodies: string[] = [];
  let gotChunk = false;
  const notes: boolean[] = [];
  // Reads the body chunk by chunk, as a socket would: 401 to the first token, 200 to the next.
  const transport = async (request: Request) => {
    if (request.url.endsWith(TOKEN_PATH)) return json({ access_token: `tok-${bodies.length + 1}`, expires_in: 900 });
    gotChunk = false;
    let body = '';
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      gotChunk = true;
      body += new TextDecoder().decode(chunk);
    }
    bodies.push(`${request.headers.get('authorization')?.replace('Bearer ', '')} ${body}`);
    return bodies.length === 1 ? json({ error: 'expired' }, { status: 401 }) : json({ ok: true });
  };
  const fetch = compose([authToken({ apiKey: KEY, baseUrl: API })], { fetch: transport });
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(encoder.encode('part-one;')),
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      notes.push(gotChunk);
      controller.enqueue(encoder.encode('part-two'));
      controller.close();
    },
  });
  const response = await fetch(`${API}/v2/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.is(response.status, 200);
  assert.equal(notes, [true], 'the server had the first chunk when the stream was asked for the second');
  assert.equal(bodies, ['tok-1 part-one;part-two', 'tok-2 part-one;part-two']);
});

test("the caller's Request is used up as fetch leaves it, and never takes the token", async () => {
  const h = harness();
  const request = new Request(`${API}/v2/items`, { method: 'POST', body: '{"a":1}' });
  assert.is((await h.fetch(request)).status, 200);
  assert.ok(request.bodyUsed);
  assert.is(request.headers.has('authorization'), false);
  assert.is(bearer(h.apiCalls()[0]), 'tok-1');
  assert.is(h.apiCalls()[0]?.text, '{"a":1}');
});

test("a caller's Request is replayed after a 401 with its body, from the copy kept as it flowed", async () => {
  const h = harness();
  await h.fetch(`${API}/v2/warm`);
  h.api.revokeAll();
  const request = new Request(`${API}/v2/items`, { method: 'PUT', body: 'same bytes' });
  assert.is((await h.fetch(request)).status, 200);
  assert.equal(
    h
      .apiCalls()
      .slice(1)
      .map((c) => `${bearer(c)} ${c.text}`),
    ['tok-1 same bytes', 'tok-2 same bytes'],
  );
});

test.run();
