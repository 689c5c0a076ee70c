import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BASE, errorOf, LIST_PATH, setup, TOKEN_PATH } from './helpers.js';

test('answers 400 invalid_json to malformed JSON, on the token route and the API', async () => {
  const { send, token } = setup();
  const t = await token();
  for (const [path, auth] of [
    [TOKEN_PATH, undefined],
    [LIST_PATH, t],
  ] as const) {
    const response = await send('POST', path, { body: '{"api_key": ', token: auth });
    assert.is(response.status, 400);
    assert.is((await errorOf(response)).code, 'invalid_json');
  }
});

test('answers 400 to JSON that is not an object, and to invalid UTF-8', async () => {
  const { send } = setup();
  for (const body of ['[]', '"key"', 'null', '42', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]) {
    const response = await send('POST', TOKEN_PATH, { body });
    assert.is(response.status, 400, String(body));
  }
});

test('does not echo the body in errors, so a key in a malformed body never leaks', async () => {
  const { send } = setup();
  const response = await send('POST', TOKEN_PATH, { body: '{"api_key": "mock_admin_key_0123456789"' });
  assert.not.ok((await response.text()).includes('mock_admin_key'));
});

test('answers 405 with an Allow header to a wrong method on every route', async () => {
  const { send } = setup();
  const cases: [string, string, string][] = [
    ['GET', TOKEN_PATH, 'POST'],
    ['PUT', LIST_PATH, 'POST'],
    ['DELETE', '/v2/event-details', 'GET, POST'],
    ['PATCH', '/v2/admin/api-keys', 'GET'],
    ['POST', '/v2/event-details/a,b', 'GET'],
  ];
  for (const [method, path, allow] of cases) {
    const response = await send(method, path);
    assert.is(response.status, 405, `${method} ${path}`);
    assert.is(response.headers.get('allow'), allow);
    assert.is((await errorOf(response)).code, 'method_not_allowed');
  }
});

test('answers 404 not_found to unknown paths, with request id and rate-limit headers', async () => {
  const { send } = setup();
  for (const path of ['/v2/incidents', '/v2/incidents/list/', '/', '/v3/incidents/list', '/v2/auth/token/access/x']) {
    const response = await send('POST', path);
    assert.is(response.status, 404, path);
    assert.ok(response.headers.get('x-request-id'));
    assert.is((await errorOf(response)).code, 'not_found');
  }
  assert.ok((await send('GET', '/v2/nope')).headers.get('x-ratelimit-remaining'));
});

test('answers 413 to a body over maxBodyBytes, declared or streamed', async () => {
  const { send, server } = setup({ maxBodyBytes: 1024 });
  const declared = await send('POST', TOKEN_PATH, { body: 'x'.repeat(2048) });
  assert.is(declared.status, 413);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += 512;
      controller.enqueue(new Uint8Array(512).fill(32));
      if (sent > 1_000_000) controller.close();
    },
  });
  const streamed = await server.fetch(`${BASE}${TOKEN_PATH}`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.is(streamed.status, 413);
  assert.is((await errorOf(streamed)).code, 'payload_too_large');
  assert.ok(sent < 10_000, `stopped reading early, read ${sent}`);
});

test('gives every answer a distinct X-Request-Id, echoed in the error body', async () => {
  const { send } = setup();
  const ids = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const response = await send('GET', '/nowhere');
    const id = response.headers.get('x-request-id') ?? '';
    assert.is((await errorOf(response)).request_id, id);
    ids.add(id);
  }
  assert.is(ids.size, 10);
});

test('survives a barrage of garbage and answers each with JSON', async () => {
  const { send, server, token } = setup({ limit: 100_000 });
  const t = await token();
  const bodies: unknown[] = ['', '{', '}{', '{"filter":{"users":[1,2]}}', '{"page_request":{"size":1e309}}', '\u0000', 'a'.repeat(5000)];
  bodies.push({ filter: { policy_severities: [null] } }, { page_request: { id: { nested: true } } }, { filter: { start_time: 12 } });
  const headers = [
    {},
    { authorization: 'Bearer' },
    { authorization: `Bearer ${t}` },
    { authorization: `bearer ${t}` },
    { 'content-type': 'text/plain' },
  ];
  const paths = [
    LIST_PATH,
    TOKEN_PATH,
    '/v2/event-details?ids=%%%',
    '/v2/event-details/%',
    '/v2/admin/api-keys',
    '/_mock/nope',
    '/v2/../v2/incidents/list',
  ];
  let answered = 0;
  for (const path of paths) {
    for (const h of headers) {
      for (const body of bodies) {
        const response = await send('POST', path, { body, headers: h as Record<string, string> });
        assert.ok(response.status >= 200 && response.status < 500, `${path} ${response.status}`);
        assert.ok(response.headers.get('content-type')?.startsWith('application/json'));
        JSON.parse(await response.text());
        answered++;
      }
    }
  }
  assert.is(answered, paths.length * headers.length * bodies.length);
  assert.is(server.stats().byStatus['500'], undefined);
});

test('accepts a lower-case bearer scheme', async () => {
  const { send, token } = setup();
  const response = await send('POST', LIST_PATH, { headers: { authorization: `bearer ${await token()}` }, body: {} });
  assert.is(response.status, 200);
});

test.run();
