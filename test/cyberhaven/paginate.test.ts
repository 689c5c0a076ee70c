import { isPaginationError, type PaginationError } from '@sluice/cyberhaven';
import { isClientError } from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { ADMIN_KEY, BASE, drive, type Incident, setup } from './helpers.js';

const collect = async <T>(items: AsyncIterable<T>) => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

const lists = (sent: ReturnType<typeof setup>['sent']) => sent.filter((r) => r.path === '/v2/incidents/list');

test('paginate walks each incident exactly once, page by page, with the page size asked for', async () => {
  const { clock, client, sent } = setup({ server: { incidents: 230 } });
  const incidents = await drive(clock, collect(client.paginate<Incident>('/v2/incidents/list', {}, { pageSize: 50 })));
  assert.is(incidents.length, 230);
  assert.is(new Set(incidents.map((i) => i.id)).size, 230);
  const pages = lists(sent);
  assert.is(pages.length, 5);
  assert.ok(pages.every((p) => p.method === 'POST' && p.body.page_request.size === 50));
  assert.is(pages[0]!.body.page_request.id, undefined, 'the first page has no cursor');
  assert.ok(
    pages.slice(1).every((p) => typeof p.body.page_request.id === 'string'),
    'later pages send the cursor',
  );
  await client.close();
});

test('paginate sends the filter and sorting with every page and takes the size from page_request', async () => {
  const { clock, client, sent } = setup({ server: { incidents: 120 } });
  const body = { filter: { resolution_statuses: ['open'] }, page_request: { size: 20, sort_by: 'trigger_time asc' } };
  const incidents = await drive(
    clock,
    collect(client.paginate<Incident & { resolution_status: string; trigger_time: string }>('/v2/incidents/list', body)),
  );
  assert.ok(incidents.length > 0 && incidents.every((i) => i.resolution_status === 'open'));
  const times = incidents.map((i) => i.trigger_time);
  assert.equal(times, [...times].sort(), 'ascending');
  assert.ok(
    lists(sent).every((p) => p.body.filter.resolution_statuses[0] === 'open' && p.body.page_request.sort_by === 'trigger_time asc'),
  );
  assert.ok(lists(sent).every((p) => p.body.page_request.size === 20));
  assert.equal(body.page_request, { size: 20, sort_by: 'trigger_time asc' }, "the caller's body is not written to");
  await client.close();
});

test('paginate asks for the next page only once the current one has been consumed', async () => {
  const { clock, client, sent } = setup({ server: { incidents: 100 } });
  const first = await drive(
    clock,
    (async () => {
      for await (const incident of client.paginate<Incident>('/v2/incidents/list', {}, { pageSize: 10 })) return incident;
    })(),
  );
  assert.ok(first?.id);
  assert.is(lists(sent).length, 1);
  await client.close();
});

test('a list call that fails ends the walk with the mapped error', async () => {
  const { clock, client } = setup();
  const walk = collect(client.paginate('/v2/incidents/list', { page_request: { id: 'not-a-cursor' } }));
  const error = await drive(clock, rejects(walk));
  assert.ok(isClientError(error), String(error));
  await client.close();
});

test('with keepResponse, an error status ends the walk with PaginationError and its status', async () => {
  const { clock, client } = setup({ client: { errors: { keepResponse: true } } });
  const walk = collect(client.paginate('/v2/incidents/list', { page_request: { id: 'not-a-cursor' } }));
  const error = (await drive(clock, rejects(walk, isPaginationError))) as PaginationError;
  assert.is(error.status, 400);
  assert.is(error.page, 1);
  assert.is(error.message, `list call answered 400 (page 1): POST ${BASE}/v2/incidents/list`);
  await client.close();
});

// A transport that exchanges the key and answers every list call with `page`.
function fakeApi(page: unknown) {
  return async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === '/v2/auth/token/access') return Response.json({ access_token: 'tok', expires_in: 900 });
    return typeof page === 'string' ? new Response(page) : Response.json(page);
  };
}

test('a cursor that does not advance fails with PaginationError instead of looping', async () => {
  const { clock, client } = setup({ client: { fetch: fakeApi({ resources: [{ id: 1 }], page_response: { next_id: 'same' } }) } });
  const seen: unknown[] = [];
  const walk = (async () => {
    for await (const item of client.paginate('/v2/incidents/list')) seen.push(item);
  })();
  const error = (await drive(clock, rejects(walk, isPaginationError))) as PaginationError;
  assert.is(error.page, 2);
  assert.match(error.message, 'next_id` did not advance');
  assert.is(seen.length, 2, 'the items that did arrive were yielded');
  await client.close();
});

test('a page that is not a list page fails with PaginationError', async () => {
  for (const page of [{ items: [] }, 'not json']) {
    const { clock, client } = setup({ client: { fetch: fakeApi(page) } });
    const error = await drive(clock, rejects(collect(client.paginate('/v2/incidents/list')), isPaginationError));
    assert.match(String(error), typeof page === 'string' ? 'page is not JSON' : 'no `resources` array');
    await client.close();
  }
});

test('aborting the signal ends the walk with its reason, also while a page is on its way', async () => {
  const { clock, client, sent } = setup({ server: { incidents: 100, latencyMs: 1_000 } });
  const controller = new AbortController();
  const reason = new Error('stop');
  const walk = client.paginate('/v2/incidents/list', {}, { pageSize: 10, signal: controller.signal });
  assert.ok((await drive(clock, walk.next())).value, 'the first page arrived');
  for (let i = 1; i < 10; i++) await walk.next(); // the rest of page 1, already in hand
  const second = walk.next(); // page 2 is requested now
  await drive(clock, new Promise((resolve) => setImmediate(resolve)));
  controller.abort(reason);
  assert.is(await drive(clock, rejects(second)), reason);
  assert.is(lists(sent).length, 2);
  assert.is((await walk.next()).done, true, 'the walk is over');
  await client.close();
});

test('a page size that is not a positive integer is a RangeError', async () => {
  const { client } = setup();
  for (const pageSize of [0, 1.5, -1]) {
    await rejects(
      collect(client.paginate('/v2/incidents/list', {}, { pageSize })),
      (e) => e instanceof RangeError && /pageSize/.test(String(e)),
    );
  }
  void ADMIN_KEY;
  await client.close();
});

test.run();
