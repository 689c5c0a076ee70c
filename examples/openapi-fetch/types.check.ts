// Compile-only, checked by `tsc -p test/tsconfig.json`: the schema types openapi-fetch's calls over the sluice pipeline.
import { compose } from '@sluice/core';
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:8787', fetch: compose([]) });

export async function typed() {
  const { data } = await client.POST('/v2/incidents/list', { body: { page_request: { size: 3, sort_by: 'trigger_time asc' } } });
  const ids: string[] | undefined = data?.resources.flatMap((i) => i.event_ids);
  const next: string | undefined = data?.page_response.next_id;

  const { data: events, error } = await client.GET('/v2/event-details', { params: { query: { ids: ids ?? [] } } });
  const kind: string | undefined = events?.resources[0]?.action.kind;
  const code: string | undefined = error?.error.code;

  // @ts-expect-error not a path of the schema
  await client.GET('/v2/incidents');
  // @ts-expect-error incidents are listed with POST
  await client.GET('/v2/incidents/list');
  // @ts-expect-error page size is a number
  await client.POST('/v2/incidents/list', { body: { page_request: { size: '3' } } });
  // @ts-expect-error `ids` is required
  await client.GET('/v2/event-details', { params: { query: {} } });
  // @ts-expect-error sort_by takes two values
  await client.POST('/v2/incidents/list', { body: { page_request: { sort_by: 'severity' } } });
  // @ts-expect-error resources are incidents, not strings
  const wrong: string[] | undefined = data?.resources;

  return [next, kind, code, wrong];
}
