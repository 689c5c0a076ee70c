import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, count, errorOf, READ_ONLY_KEY, setup, statuses, TOKEN_PATH } from './helpers.js';

const sec = (ms: number) => ms / 1000;

test('sliding log: a slot frees exactly one window after the request that used it', async () => {
  const { token, list, clock } = setup({ algorithm: 'sliding-log', countTokenExchange: false });
  const t = await token();
  assert.equal(count(await statuses(30, () => list(t)), 200), 30);
  await clock.advance(30_000);
  assert.equal(count(await statuses(30, () => list(t)), 200), 30);
  await clock.advance(29_999);
  const refused = await list(t);
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '1');
  await clock.advance(1);
  const s = await statuses(31, () => list(t));
  assert.equal([count(s, 200), count(s, 429)], [30, 1], 'the 30 from t=0 left the window, the 30 from t=30 s did not');
});

test('sliding log: Retry-After and X-RateLimit-Reset point at the oldest counted request', async () => {
  const { token, list, clock } = setup({ algorithm: 'sliding-log', countTokenExchange: false });
  const t = await token();
  const start = clock.now();
  await statuses(1, () => list(t));
  await clock.advance(20_000);
  await statuses(59, () => list(t));
  const refused = await list(t);
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '40');
  assert.is(refused.headers.get('x-ratelimit-remaining'), '0');
  assert.is(refused.headers.get('x-ratelimit-reset'), String(sec(start + 60_000)));
});

test('fixed window: counts per aligned minute, so a burst at the edge passes twice', async () => {
  const { token, list, clock } = setup({ algorithm: 'fixed-window', countTokenExchange: false });
  const t = await token();
  const minute = clock.now();
  await clock.advance(59_000);
  const late = await statuses(61, () => list(t));
  assert.equal([count(late, 200), count(late, 429)], [60, 1]);
  const refused = await list(t);
  assert.is(refused.headers.get('retry-after'), '1');
  assert.is(refused.headers.get('x-ratelimit-reset'), String(sec(minute + 60_000)));
  await clock.advance(1_000);
  const early = await statuses(61, () => list(t));
  assert.equal([count(early, 200), count(early, 429)], [60, 1], '120 requests in two seconds across the edge');
});

test('fixed window: X-RateLimit-Reset is the end of the current window even when nothing is spent', async () => {
  const { send, clock } = setup({ algorithm: 'fixed-window' });
  await clock.advance(12_345);
  const response = await send('GET', '/v2/nowhere');
  assert.is(response.headers.get('x-ratelimit-remaining'), '60');
  assert.is(response.headers.get('x-ratelimit-reset'), String(sec(clock.now() - 12_345 + 60_000)));
});

test('token bucket: bursts to the limit, then refills one request per second', async () => {
  const { token, list, clock } = setup({ algorithm: 'token-bucket', countTokenExchange: false });
  const t = await token();
  const burst = await statuses(61, () => list(t));
  assert.equal([count(burst, 200), count(burst, 429)], [60, 1]);
  const refused = await list(t);
  assert.is(refused.headers.get('retry-after'), '1');
  assert.is(refused.headers.get('x-ratelimit-reset'), String(sec(clock.now() + 1000)));
  await clock.advance(999);
  assert.is((await list(t)).status, 429);
  await clock.advance(1);
  assert.equal(await statuses(2, () => list(t)), [200, 429]);
  await clock.advance(30_000);
  const refill = await statuses(31, () => list(t));
  assert.equal([count(refill, 200), count(refill, 429)], [30, 1]);
});

test('sliding log: refused requests are not counted, so hammering does not extend the wait', async () => {
  const { token, list, clock } = setup({ algorithm: 'sliding-log', countTokenExchange: false });
  const t = await token();
  await statuses(60, () => list(t));
  const hammered: number[] = [];
  for (let at = 500; at < 60_000; at += 500) {
    await clock.advance(500);
    hammered.push((await list(t)).status);
  }
  assert.is(count(hammered, 429), hammered.length);
  await clock.advance(500);
  assert.is((await list(t)).status, 200);
});

test('token bucket: refused requests take no token, so one request per second keeps passing', async () => {
  const { token, list, clock } = setup({ algorithm: 'token-bucket', countTokenExchange: false });
  const t = await token();
  await statuses(60, () => list(t));
  const every500: number[] = [];
  for (let i = 0; i < 6; i++) {
    await clock.advance(500);
    every500.push((await list(t)).status);
  }
  assert.equal(every500, [429, 200, 429, 200, 429, 200]);
});

test('X-RateLimit-Remaining counts down on every answer and the reset is in epoch seconds', async () => {
  const { token, list } = setup();
  const t = await token();
  const remaining: string[] = [];
  for (let i = 0; i < 3; i++) remaining.push((await list(t)).headers.get('x-ratelimit-remaining') ?? '');
  assert.equal(remaining, ['58', '57', '56'], 'the token exchange counted as the first');
  const reset = Number((await list(t)).headers.get('x-ratelimit-reset'));
  assert.ok(reset > 1.7e9 && reset < 1e10, `epoch seconds, got ${reset}`);
});

test('the token exchange counts against the key by default, and not with countTokenExchange: false', async () => {
  const counted = setup();
  const first = await counted.send('POST', TOKEN_PATH, { body: { api_key: READ_ONLY_KEY } });
  assert.is(first.headers.get('x-ratelimit-remaining'), '59');
  const free = setup({ countTokenExchange: false });
  const second = await free.send('POST', TOKEN_PATH, { body: { api_key: READ_ONLY_KEY } });
  assert.is(second.headers.get('x-ratelimit-remaining'), '60');
});

test('a spent key gets 429 on the token exchange too', async () => {
  const { token, list, send } = setup();
  const t = await token();
  await statuses(59, () => list(t));
  const response = await send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } });
  assert.is(response.status, 429);
  assert.is((await errorOf(response)).code, 'rate_limited');
  assert.ok(Number(response.headers.get('retry-after')) >= 1);
});

test('limits are per API key', async () => {
  const { token, list, server } = setup();
  const admin = await token();
  const reader = await token(READ_ONLY_KEY);
  await statuses(59, () => list(admin));
  assert.is((await list(admin)).status, 429);
  assert.is((await list(reader)).status, 200);
  const stats = server.stats();
  assert.equal([stats.rateLimited, stats.rateLimitedBy.rate, stats.perKey['demo-admin']?.rateLimited], [1, 1, 1]);
});

test('answers 429 with a JSON body, Retry-After and the rate-limit headers', async () => {
  const { token, list } = setup({ limit: 2, countTokenExchange: false });
  const t = await token();
  await statuses(2, () => list(t));
  const response = await list(t);
  assert.is(response.status, 429);
  assert.is(response.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.ok(response.headers.get('x-request-id'));
  assert.is(response.headers.get('x-ratelimit-remaining'), '0');
  const error = await errorOf(response);
  assert.is(error.code, 'rate_limited');
  assert.match(error.message, /2 requests per 60 s per API key/);
  assert.is(error.request_id, response.headers.get('x-request-id'));
});

test.run();
