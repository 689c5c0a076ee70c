// The full pipeline as the preset composes it, [errorMap, retry429, authToken, rateLimit], against the
// simulator's handler as the transport, on the virtual clock: the same behaviours in every runtime.
import { needs } from './util.mjs';

export const BASE = 'https://acme.cyberhaven.io';
export const ADMIN_KEY = 'mock_admin_key_0123456789';
export const READ_ONLY_KEY = 'mock_read_only_key_0123456789';
const LIST = `${BASE}/v2/incidents/list`;
const DETAILS = `${BASE}/v2/event-details?ids=evt_1,evt_2`;

const listBody = () => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ page_request: { size: 2 } }),
});

/**
 * Composes the pipeline over a mock server. `server` options go to createMockServer, `limits` to rateLimit,
 * `auth` to authToken; `transport` may wrap the server's fetch; `mock` replaces the server by anything with a
 * `fetch` (a simulator in another Worker), `base` its URL. Every event is recorded in `events`.
 */
export function buildPipeline(modules, { clock, server: serverOptions, limits, auth, retry, transport, mock, base = BASE } = {}) {
  const { core, authToken, rateLimit, retry429, errorMap, mockServer } = needs(
    modules,
    'core',
    'authToken',
    'rateLimit',
    'retry429',
    'errorMap',
    'mockServer',
  );
  const server = mock ?? mockServer.createMockServer({ clock, ...serverOptions });
  const send = transport ? transport(server.fetch) : server.fetch;
  const api = core.compose(
    [
      errorMap.errorMap(),
      retry429.retry429({ random: () => 0.5, ...retry }),
      authToken.authToken({ apiKey: ADMIN_KEY, baseUrl: base, ...auth }),
      rateLimit.rateLimit({ marginMs: 0, ...limits }),
    ],
    { fetch: send, clock },
  );
  const events = [];
  api.events.on('*', (type, payload) => events.push({ type, ...payload }));
  const ofType = (type) => events.filter((e) => e.type === type);
  return { api, server, events, ofType };
}

export function pipelineTests({ test, assert, modules }) {
  const virtual = () => needs(modules, 'testing').testing.createTestClock();

  test('pipeline: concurrent first calls share one token exchange and all succeed', async () => {
    const clock = virtual();
    const { api, server, ofType } = buildPipeline(modules, { clock });
    const responses = await Promise.all([1, 2, 3].map(() => api(LIST, listBody())));
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 200, 200],
    );
    const page = await responses[0].json();
    assert.equal(page.resources.length, 2);
    assert.equal(server.stats().tokenExchanges, 1);
    assert.deepEqual(
      ofType('auth:token-acquired').map((e) => e.reason),
      ['initial'],
    );
    await api.close();
  });

  test('pipeline: the token is refreshed ahead of expiry in the background, and exchanged again once expired', async () => {
    const clock = virtual();
    const { api, server, ofType } = buildPipeline(modules, { clock });
    assert.equal((await api(DETAILS)).status, 200);
    // Lifetime 900 s: the refresh window opens 180 s before the end, the token goes stale 30 s before it.
    await clock.advance(750_000);
    assert.equal((await api(DETAILS)).status, 200);
    await clock.flush();
    await clock.advance(1_000_000);
    assert.equal((await api(DETAILS)).status, 200);
    assert.deepEqual(
      ofType('auth:token-acquired').map((e) => e.reason),
      ['initial', 'refresh-ahead', 'expired'],
    );
    assert.equal(server.stats().tokenExchanges, 3);
    assert.equal(server.stats().unauthorized.expired, 0, 'no call went out with an expired token');
    await api.close();
  });

  test('pipeline: calls over the rate limit queue and go out as the window allows, with no 429', async () => {
    const clock = virtual();
    // The server allows 3 per second; the client is told 3 per second too, exchange included.
    const { api, server, ofType } = buildPipeline(modules, {
      clock,
      server: { limit: 3, windowMs: 1000 },
      limits: { rules: [{ limit: 3, windowMs: 1000 }] },
    });
    const started = clock.now();
    const settled = [];
    const calls = [1, 2, 3, 4, 5].map((n) => api(DETAILS).then((r) => settled.push([n, r.status, clock.now() - started])));
    await clock.flush();
    assert.ok(settled.length <= 2, `only the calls that fit went out at once, got ${settled.length}`);
    assert.ok(ofType('rate-limit:queued').length >= 1, 'some calls were queued');
    await clock.advance(5_000);
    await Promise.all(calls);
    assert.equal(settled.length, 5);
    assert.ok(
      settled.every(([, status]) => status === 200),
      JSON.stringify(settled),
    );
    assert.equal(server.stats().rateLimited, 0, 'the server never had to answer 429');
    assert.ok(Math.max(...settled.map(([, , at]) => at)) >= 1000, 'the last calls waited for the next window');
    await api.close();
  });

  test('pipeline: a 429 is retried after its Retry-After and the call succeeds, with events', async () => {
    const clock = virtual();
    const { api, server, ofType } = buildPipeline(modules, { clock });
    assert.equal((await api(DETAILS)).status, 200);
    server.startStorm(2_000);
    const pending = api(DETAILS);
    await clock.advance(10_000);
    const response = await pending;
    assert.equal(response.status, 200);
    assert.equal(server.stats().rateLimited, 1);
    const [scheduled] = ofType('retry:scheduled');
    assert.equal(scheduled?.reason, 'rate-limited');
    assert.equal(scheduled?.delayMs, 2_000);
    assert.equal(ofType('rate-limit:exceeded')[0]?.retryAfterMs, 2_000);
    await api.close();
  });

  test('pipeline: a 429 asking for longer than the retry cap becomes RateLimitError with retryAfterMs', async () => {
    const clock = virtual();
    const { api, server } = buildPipeline(modules, { clock, retry: { maxDelayMs: 1_000 } });
    const { errorMap } = needs(modules, 'errorMap');
    assert.equal((await api(DETAILS)).status, 200);
    server.startStorm(30_000);
    const error = await assert.rejects(api(DETAILS));
    assert.ok(errorMap.isRateLimitError(error), String(error));
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 30_000);
    assert.equal(error.name, 'RateLimitError');
    await api.close();
  });

  test('pipeline: a 403 becomes PermissionError with safe JSON and an error:mapped event', async () => {
    const clock = virtual();
    const { api, ofType } = buildPipeline(modules, { clock, auth: { apiKey: READ_ONLY_KEY } });
    const { errorMap } = needs(modules, 'errorMap');
    const error = await assert.rejects(api(`${BASE}/v2/admin/api-keys?secret=q`));
    assert.ok(errorMap.isPermissionError(error), String(error));
    assert.equal(error.name, 'PermissionError');
    assert.equal(error.status, 403);
    const json = JSON.stringify(error);
    assert.ok(!json.includes('secret=q') && !json.includes(READ_ONLY_KEY), json);
    assert.deepEqual(
      ofType('error:mapped').map((e) => [e.status, e.url]),
      [[403, `${BASE}/v2/admin/api-keys`]],
    );
    await api.close();
  });

  test('pipeline: a rejected API key fails once with InvalidApiKeyError, no retry loop', async () => {
    const clock = virtual();
    const { api, server } = buildPipeline(modules, { clock, auth: { apiKey: 'not-a-key' } });
    const { core } = needs(modules, 'core');
    const error = await assert.rejects(api(DETAILS));
    assert.ok(core.hasCode(error, 'ERR_SLUICE_INVALID_API_KEY'), String(error));
    assert.ok(!String(error.message).includes('not-a-key'));
    assert.equal(server.stats().unauthorized.invalidKey, 1);
    await api.close();
  });

  test('pipeline: aborting a call queued by the limiter rejects with the reason, sends nothing and frees the timer', async () => {
    const clock = virtual();
    const { api, server, ofType } = buildPipeline(modules, { clock, limits: { rules: [{ limit: 2, windowMs: 60_000 }] } });
    assert.equal((await api(DETAILS)).status, 200);
    const before = server.stats().requests;
    const controller = new AbortController();
    const reason = new Error('user navigated away');
    const pending = api(DETAILS, { signal: controller.signal });
    await clock.flush();
    assert.equal(ofType('rate-limit:queued').length, 1);
    assert.ok(clock.pending >= 1, 'the queued call waits on a timer');
    controller.abort(reason);
    assert.equal(await assert.rejects(pending), reason);
    await clock.flush();
    assert.equal(server.stats().requests, before, 'nothing was sent');
    assert.equal(clock.pending, 0, 'no timer left behind');
    assert.deepEqual(
      ofType('rate-limit:rejected').map((e) => e.reason),
      ['aborted'],
    );
    await api.close();
  });

  test('pipeline: close() rejects queued calls with ClosedError and leaves no timer', async () => {
    const clock = virtual();
    const { api } = buildPipeline(modules, { clock, limits: { rules: [{ limit: 2, windowMs: 60_000 }] } });
    const { core } = needs(modules, 'core');
    assert.equal((await api(DETAILS)).status, 200);
    const queued = api(DETAILS);
    await clock.flush();
    await api.close();
    const error = await assert.rejects(queued);
    assert.ok(core.hasCode(error, 'ERR_SLUICE_CLOSED'), String(error));
    assert.equal(clock.pending, 0);
    assert.ok(core.hasCode(await assert.rejects(api(DETAILS)), 'ERR_SLUICE_CLOSED'));
  });

  test('pipeline: events name method, URL without query and key fingerprint, never the key or a token', async () => {
    const clock = virtual();
    const tokens = [];
    const spy = (send) => async (request) => {
      const response = await send(request);
      if (request.url.endsWith('/auth/token/access')) tokens.push((await response.clone().json()).access_token);
      return response;
    };
    const { api, server, events } = buildPipeline(modules, { clock, transport: spy });
    await api(DETAILS);
    server.startStorm(1_000);
    const pending = api(DETAILS);
    await clock.advance(5_000);
    await pending;
    const types = new Set(events.map((e) => e.type));
    for (const type of ['auth:token-requested', 'auth:token-acquired', 'rate-limit:acquired', 'rate-limit:exceeded', 'retry:scheduled']) {
      assert.ok(types.has(type), `saw ${type} among ${[...types].join(', ')}`);
    }
    const text = JSON.stringify(events);
    assert.equal(tokens.length, 1);
    assert.ok(!text.includes(ADMIN_KEY), 'no API key in events');
    assert.ok(!text.includes(tokens[0]), 'no token in events');
    assert.ok(!text.includes('evt_1'), 'no query in events');
    const keyIds = new Set(events.filter((e) => e.keyId).map((e) => e.keyId));
    assert.equal(keyIds.size, 1);
    await api.close();
  });
}
