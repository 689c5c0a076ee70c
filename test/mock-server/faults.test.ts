import { isConnectionReset } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';
import { ADMIN_KEY, count, errorOf, setup, statuses, TOKEN_PATH } from './helpers.js';

test('serverErrorRate 1 answers every request 500, 502 or 503 with a JSON error', async () => {
  const { token, list, server } = setup({ limit: 1000 });
  const t = await token();
  server.setFaults({ serverErrorRate: 1 });
  const s = await statuses(30, () => list(t));
  assert.ok(s.every((status) => [500, 502, 503].includes(status)));
  assert.ok(new Set(s).size > 1, 'a mix of 5xx');
  assert.is(server.stats().faults.serverErrors, 30);
  const response = await list(t);
  assert.ok(response.headers.get('x-request-id'));
  assert.match((await errorOf(response)).message, /injected fault/);
});

test('a share of 5xx is drawn from the seeded PRNG, so runs repeat', async () => {
  const run = async () => {
    const { token, list, server } = setup({ limit: 1000, seed: 42 });
    const t = await token();
    server.setFaults({ serverErrorRate: 0.3 });
    return statuses(100, () => list(t));
  };
  const first = await run();
  assert.equal(await run(), first);
  const errors = first.length - count(first, 200);
  assert.ok(errors > 15 && errors < 45, `about 30 of 100, got ${errors}`);
});

test('resetRate 1 rejects in-process calls like a reset connection', async () => {
  const { token, list, server } = setup();
  const t = await token();
  server.setFaults({ resetRate: 1 });
  const error = await rejects(list(t), TypeError);
  assert.is((error as Error).message, 'fetch failed');
  assert.is(((error as Error).cause as { code: string }).code, 'ECONNRESET');
  assert.ok(isConnectionReset(error));
  const stats = server.stats();
  assert.equal([stats.faults.resets, stats.requests], [1, 2]);
});

test('startStorm answers 429 to everything until it ends, with Retry-After for the rest of it', async () => {
  const { token, list, send, server, clock } = setup();
  const t = await token();
  server.startStorm(5_000);
  const during = await list(t);
  assert.is(during.status, 429);
  assert.is(during.headers.get('retry-after'), '5');
  assert.is(during.headers.get('x-ratelimit-remaining'), '0');
  assert.is(during.headers.get('x-ratelimit-reset'), String((clock.now() + 5_000) / 1000));
  assert.is((await send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } })).status, 429);
  await clock.advance(4_999);
  assert.is((await list(t)).status, 429);
  await clock.advance(1);
  assert.is((await list(t)).status, 200);
  assert.is(server.stats().rateLimitedBy.storm, 3);
});

test('a periodic storm covers the last durationMs of every period', async () => {
  const { token, list, clock } = setup({ limit: 1000, faults: { storm: { everyMs: 10_000, durationMs: 2_000 } } });
  const t = await token();
  const seen: number[] = [];
  for (let at = 0; at < 20_000; at += 1_000) {
    seen.push((await list(t)).status);
    await clock.advance(1_000);
  }
  assert.equal(seen, [200, 200, 200, 200, 200, 200, 200, 200, 429, 429, 200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
});

test('malformedTokenRate 1 answers token exchanges 200 with bodies that hold no usable token', async () => {
  const { send, server } = setup({ limit: 1000, faults: { malformedTokenRate: 1 } });
  const kinds = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const response = await send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } });
    assert.is(response.status, 200);
    const text = await response.text();
    let token: unknown;
    try {
      token = (JSON.parse(text) as { access_token?: unknown }).access_token;
      kinds.add(token === undefined ? 'missing' : typeof token);
    } catch {
      kinds.add('unparseable');
    }
    assert.ok(typeof token !== 'string' || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token), 'no usable token');
  }
  assert.ok(kinds.size >= 3, `varied malformations: ${[...kinds]}`);
  assert.equal([server.stats().faults.malformedTokens, server.stats().tokenExchanges], [20, 0]);
});

test('tokenLatencyMs delays only token exchanges', async () => {
  const { send, token, list, server, clock } = setup();
  const t = await token();
  server.setFaults({ tokenLatencyMs: 2_000 });
  const exchange = track(send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } }));
  assert.is((await list(t)).status, 200, 'other routes answer at once');
  await clock.advance(1_999);
  assert.not.ok(exchange.settled());
  await clock.advance(1);
  assert.is((await exchange.promise).status, 200);
});

test('latency holds every answer on the injected clock, fixed or in a range', async () => {
  const { token, list, server, clock } = setup({ latencyMs: { min: 100, max: 200 } });
  const pendingToken = track(token());
  await clock.advance(99);
  assert.not.ok(pendingToken.settled());
  await clock.advance(101);
  const t = await pendingToken.promise;
  server.setLatency(300);
  const answer = track(list(t));
  await clock.advance(299);
  assert.not.ok(answer.settled());
  await clock.advance(1);
  assert.is((await answer.promise).status, 200);
});

test('setFaults validates and merges; undefined clears a setting', () => {
  const { server } = setup();
  server.setFaults({ serverErrorRate: 0.5, tokenLatencyMs: 10 });
  server.setFaults({ serverErrorRate: undefined });
  assert.equal(server.faults(), { serverErrorRate: undefined, tokenLatencyMs: 10 });
  assert.throws(() => server.setFaults({ resetRate: 2 }), /faults.resetRate/);
  assert.throws(() => server.setFaults({ storm: { everyMs: 1000, durationMs: 2000 } }), /durationMs/);
  assert.throws(() => server.startStorm(-1), RangeError);
  assert.throws(() => server.setLatency(-5), RangeError);
});

test.run();
