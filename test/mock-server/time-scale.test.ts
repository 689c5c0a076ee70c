import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, count, jwtPayload, setup, statuses, TOKEN_PATH } from './helpers.js';

test('at timeScale 10 a token lives 90 real seconds and says so in expires_in and exp', async () => {
  const { send, list, clock } = setup({ timeScale: 10 });
  const start = clock.now();
  const response = await send('POST', TOKEN_PATH, { body: { api_key: ADMIN_KEY } });
  const body = (await response.json()) as { access_token: string; expires_in: number };
  assert.is(body.expires_in, 90);
  assert.is(jwtPayload(body.access_token).exp, (start + 90_000) / 1000);
  await clock.advance(89_999);
  assert.is((await list(body.access_token)).status, 200);
  await clock.advance(1);
  assert.is((await list(body.access_token)).status, 401);
});

test('at timeScale 10 the minute window passes in 6 real seconds, and Retry-After is in real seconds', async () => {
  const { token, list, clock } = setup({ timeScale: 10, countTokenExchange: false });
  const t = await token();
  const start = clock.now();
  assert.is(count(await statuses(60, () => list(t)), 200), 60);
  const refused = await list(t);
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '6');
  assert.is(refused.headers.get('x-ratelimit-reset'), String((start + 6_000) / 1000));
  await clock.advance(5_999);
  assert.is((await list(t)).status, 429);
  await clock.advance(1);
  assert.is((await list(t)).status, 200);
});

test('at timeScale 10 a fixed window reports its end in client epoch seconds', async () => {
  const { token, list, clock } = setup({ timeScale: 10, algorithm: 'fixed-window', countTokenExchange: false });
  const t = await token();
  const start = clock.now();
  await clock.advance(3_000);
  const response = await list(t);
  assert.is(response.headers.get('x-ratelimit-reset'), String((start + 6_000) / 1000));
  await statuses(59, () => list(t));
  assert.is((await list(t)).headers.get('retry-after'), '3');
  await clock.advance(3_000);
  assert.is((await list(t)).status, 200);
});

test('at timeScale 10 the token bucket refills ten requests per real second', async () => {
  const { token, list, clock } = setup({ timeScale: 10, algorithm: 'token-bucket', countTokenExchange: false });
  const t = await token();
  await statuses(60, () => list(t));
  assert.is((await list(t)).headers.get('retry-after'), '1', 'a tenth of a second, rounded up');
  await clock.advance(1_000);
  const s = await statuses(11, () => list(t));
  assert.equal([count(s, 200), count(s, 429)], [10, 1]);
});

test('latency and storms stay in real milliseconds whatever the time scale', async () => {
  const { token, list, server, clock } = setup({ timeScale: 10 });
  const t = await token();
  server.startStorm(2_000);
  const during = await list(t);
  assert.is(during.headers.get('retry-after'), '2');
  await clock.advance(2_000);
  assert.is((await list(t)).status, 200);
});

test.run();
