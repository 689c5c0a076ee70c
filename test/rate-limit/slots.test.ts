import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { track } from '../helpers/index.js';
import { harness, URL_A } from './harness.js';

const body = () => new Response('a body nobody reads');

test('frees the endpoint slot when the response arrives, even if its body is never read', async () => {
  const { api, clock, transport, sent } = harness({ concurrency: 1 });
  transport.fallback(async () => {
    await clock.sleep(100);
    return body();
  });
  const calls = [api(URL_A), api(URL_A), api(URL_A)];
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@100', '/v2/a@200']);
});

test('holdUntilBodyDone keeps the slot until the body is read to the end', async () => {
  const { api, clock, sent } = harness({ concurrency: 1, holdUntilBodyDone: true });
  const first = await api(URL_A);
  const second = track(api(URL_A));
  await clock.advance(1000);
  assert.equal(sent(), ['/v2/a@0']);
  assert.is(await first.text(), 'ok');
  await clock.flush();
  assert.equal(sent(), ['/v2/a@0', '/v2/a@1000']);
  await second.promise;
});

test('holdUntilBodyDone frees the slot when the body is cancelled', async () => {
  const { api, clock, sent } = harness({ concurrency: 1, holdUntilBodyDone: true });
  const first = await api(URL_A);
  const second = api(URL_A);
  await clock.advance(500);
  await first.body?.cancel();
  await clock.flush();
  await second;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@500']);
});

test('holdUntilBodyDone keeps status, headers and url', async () => {
  const { api, transport } = harness({ holdUntilBodyDone: true });
  transport.queue(new Response('made', { status: 201, statusText: 'Created', headers: { 'x-id': '7' } }));
  const response = await api(URL_A);
  assert.is(response.status, 201);
  assert.is(response.statusText, 'Created');
  assert.is(response.headers.get('x-id'), '7');
  assert.is(await response.text(), 'made');
});

test('holdUntilBodyDone takes back, after leaseMs, the slot of a body never read', async () => {
  const { api, clock, sent } = harness({ concurrency: 1, holdUntilBodyDone: true, leaseMs: 30_000 });
  await api(URL_A);
  const second = api(URL_A);
  await clock.runAll();
  await second;
  assert.equal(sent(), ['/v2/a@0', '/v2/a@30000']);
});

test('a response without a body frees its slot at once with holdUntilBodyDone', async () => {
  const { api, clock, transport, sent } = harness({ concurrency: 1, holdUntilBodyDone: true });
  transport.queue(new Response(null, { status: 204 }));
  await api(URL_A);
  await api(URL_A);
  await clock.flush();
  assert.equal(sent(), ['/v2/a@0', '/v2/a@0']);
});

test('a failed request keeps its slot, and counts, until marginMs after the failure', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 100, windowMs: 1000 }], concurrency: 1, marginMs: 250 });
  transport.queue(async () => {
    await clock.sleep(100);
    return new TypeError('fetch failed');
  });
  const failed = track(api(URL_A));
  const next = api(URL_A);
  await clock.runAll();
  await next;
  assert.ok(failed.error() instanceof TypeError);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@350']);
});

test('a request sent on counts from its response, so the next waits a window after the response', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 1, windowMs: 1000 }] });
  transport.queue(async () => {
    await clock.sleep(400);
    return new Response('ok');
  });
  const calls = [api(URL_A), api(URL_A)];
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@1400']);
});

test('with a rule jitterMs a slow response counts from send plus jitterMs', async () => {
  const { api, clock, transport, sent } = harness({ rules: [{ limit: 1, windowMs: 1000, jitterMs: 50 }] });
  transport.queue(async () => {
    await clock.sleep(400);
    return new Response('ok');
  });
  const calls = [api(URL_A), api(URL_A)];
  await clock.runAll();
  await Promise.all(calls);
  assert.equal(sent(), ['/v2/a@0', '/v2/a@1050']);
});

test.run();
