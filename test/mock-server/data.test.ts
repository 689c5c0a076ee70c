import { createMockServer, type Incident } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BASE, errorOf, setup } from './helpers.js';

interface Page {
  type: string;
  size: number;
  resources: Incident[];
  page_response: { next_id?: string };
}

async function walk(list: (body: unknown) => Promise<Response>, request: Record<string, unknown>, size: number): Promise<Incident[]> {
  const seen: Incident[] = [];
  let id: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const response = await list({ ...request, page_request: { ...(request.page_request as object), size, ...(id ? { id } : {}) } });
    assert.is(response.status, 200);
    const page = (await response.json()) as Page;
    assert.is(page.size, page.resources.length);
    seen.push(...page.resources);
    id = page.page_response.next_id;
    if (!id) return seen;
  }
  throw new Error('the walk did not end');
}

test('seeds 3,000 incidents and a cursor walk returns each exactly once, newest first', async () => {
  const { token, list } = setup({ limit: 10_000 });
  const t = await token();
  const seen = await walk((body) => list(t, body), {}, 70);
  assert.is(seen.length, 3000);
  assert.is(new Set(seen.map((i) => i.id)).size, 3000);
  const times = seen.map((i) => i.trigger_time);
  assert.equal(times, [...times].sort().reverse());
});

test('walks oldest first with sort_by "trigger_time asc", pages of up to 1000', async () => {
  const { token, list } = setup({ limit: 10_000 });
  const t = await token();
  const seen = await walk((body) => list(t, body), { page_request: { sort_by: 'trigger_time asc' } }, 1000);
  assert.equal(
    seen.map((i) => i.id),
    Array.from({ length: 3000 }, (_, n) => `inc_${String(n + 1).padStart(6, '0')}`),
  );
});

test('filters by severity, status, user and time, and pages the filtered set exactly once', async () => {
  const { token, list, server } = setup({ limit: 10_000 });
  const t = await token();
  const filter = { policy_severities: ['high', 'critical'], resolution_statuses: ['open'], start_time: '2025-11-01T00:00:00Z' };
  const seen = await walk((body) => list(t, body), { filter }, 100);
  assert.ok(seen.length > 100 && seen.length < 3000, `got ${seen.length}`);
  assert.is(new Set(seen.map((i) => i.id)).size, seen.length);
  for (const i of seen) {
    assert.ok(['high', 'critical'].includes(i.policy.severity));
    assert.is(i.resolution_status, 'open');
    assert.ok(i.trigger_time >= '2025-11-01T00:00:00Z');
  }
  const user = seen[0]!.user;
  const mine = await walk((body) => list(t, body), { filter: { users: [user] } }, 1000);
  assert.ok(mine.length > 0 && mine.every((i) => i.user === user));
  assert.ok(server.stats().requests > 3);
});

test('answers a page size of 50 by default and an empty body like {}', async () => {
  const { token, send } = setup();
  const response = await send('POST', '/v2/incidents/list', { token: await token() });
  const page = (await response.json()) as Page;
  assert.equal([response.status, page.type, page.size], [200, 'incidents', 50]);
  assert.ok(page.page_response.next_id);
});

test('rejects bad page requests and filters with 400 naming the field', async () => {
  const { token, list } = setup();
  const t = await token();
  const cases: [unknown, string][] = [
    [{ page_request: { size: 0 } }, 'page_request.size'],
    [{ page_request: { size: 1001 } }, 'page_request.size'],
    [{ page_request: { size: '10' } }, 'page_request.size'],
    [{ page_request: { id: 'garbage!' } }, 'page_request.id'],
    [{ page_request: { id: 'eyJhIjo5OTk5OTl9' } }, 'page_request.id'],
    [{ page_request: { sort_by: 'severity' } }, 'page_request.sort_by'],
    [{ page_request: 5 }, 'page_request'],
    [{ filter: [] }, 'filter'],
    [{ filter: { users: 'me' } }, 'filter.users'],
    [{ filter: { start_time: 'yesterday' } }, 'filter.start_time'],
  ];
  for (const [body, field] of cases) {
    const response = await list(t, body);
    assert.is(response.status, 400, JSON.stringify(body));
    assert.ok((await errorOf(response)).message.includes(field), field);
  }
});

test('refuses a page id from a walk in the other sort order', async () => {
  const { token, list } = setup();
  const t = await token();
  const first = (await (await list(t, { page_request: { size: 5 } })).json()) as Page;
  const response = await list(t, { page_request: { id: first.page_response.next_id, sort_by: 'trigger_time asc' } });
  assert.is(response.status, 400);
  assert.is((await errorOf(response)).code, 'invalid_page_id');
});

test('the same seed gives the same data set; another seed another', async () => {
  const first = async (seed: number) => {
    const server = createMockServer({ seed });
    const r = await server.fetch(`${BASE}/v2/auth/token/access`, { method: 'POST', body: '{"api_key":"mock_admin_key_0123456789"}' });
    const { access_token } = (await r.json()) as { access_token: string };
    const page = await server.fetch(`${BASE}/v2/incidents/list`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } });
    return JSON.stringify(await page.json());
  };
  assert.is(await first(7), await first(7));
  assert.is.not(await first(7), await first(8));
});

test('answers event details for comma-separated, repeated, path and POST ids, listing unknown ids in errors', async () => {
  const { token, send } = setup();
  const t = await token();
  const forms = [
    send('GET', '/v2/event-details?ids=evt_000001_1,evt_999999_1', { token: t }),
    send('GET', '/v2/event-details?ids=evt_000001_1&ids=evt_999999_1', { token: t }),
    send('GET', '/v2/event-details/evt_000001_1,evt_999999_1', { token: t }),
    send('POST', '/v2/event-details', { token: t, body: { ids: ['evt_000001_1', 'evt_999999_1'] } }),
  ];
  for (const response of await Promise.all(forms)) {
    assert.is(response.status, 200);
    const body = (await response.json()) as {
      type: string;
      size: number;
      resources: { id: string; incident_id: string }[];
      errors: { id: string }[];
    };
    assert.equal(
      [body.type, body.size, body.resources[0]?.id, body.resources[0]?.incident_id],
      ['events', 1, 'evt_000001_1', 'inc_000001'],
    );
    assert.equal(
      body.errors.map((e) => e.id),
      ['evt_999999_1'],
    );
  }
});

test('every event id of a listed incident resolves to its details', async () => {
  const { token, list, send } = setup();
  const t = await token();
  const page = (await (await list(t, { page_request: { size: 20 } })).json()) as Page;
  const ids = page.resources.flatMap((i) => i.event_ids);
  const response = await send('GET', `/v2/event-details?ids=${ids.join(',')}&include_content=true`, { token: t });
  const body = (await response.json()) as { size: number; resources: { content?: unknown }[]; errors: unknown[] };
  assert.equal([body.size, body.errors.length], [ids.length, 0]);
  assert.ok(body.resources.every((e) => e.content !== undefined));
});

test('answers 400 for event details without ids or with more than 100', async () => {
  const { token, send } = setup();
  const t = await token();
  const many = Array.from({ length: 101 }, (_, i) => `e${i}`).join(',');
  for (const path of ['/v2/event-details', '/v2/event-details?ids=', `/v2/event-details?ids=${many}`, '/v2/event-details/%E0%A4%A']) {
    const response = await send('GET', path, { token: t });
    assert.is(response.status, 400, path);
    assert.is((await errorOf(response)).code, 'invalid_request');
  }
  const post = await send('POST', '/v2/event-details', { token: t, body: { ids: 'evt_000001_1' } });
  assert.is(post.status, 400);
});

test.run();
