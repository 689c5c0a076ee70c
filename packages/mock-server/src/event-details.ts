import type { DataSet, EventDetails } from './data.js';
import { problem } from './http.js';

export const MAX_EVENT_IDS = 100;

export interface EventQuery {
  ids: string[];
  includeContent: boolean;
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw problem(400, 'invalid_request', 'the event ids in the path are not valid percent-encoding');
  }
}

function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === '1';
}

/**
 * Reads ids from `GET /v2/event-details?ids=a,b` (repeated `ids` also works), from the path form
 * `GET /v2/event-details/a,b`, or from a `POST` body `{ "ids": [...], "include_content": true }`.
 */
export function parseEventQuery(url: URL, pathIds: string | undefined, body: Record<string, unknown> | undefined): EventQuery {
  let ids: string[];
  let includeContent: boolean;
  if (body !== undefined) {
    if (!Array.isArray(body.ids) || !body.ids.every((id) => typeof id === 'string')) {
      throw problem(400, 'invalid_request', '`ids` must be an array of event id strings');
    }
    ids = body.ids as string[];
    includeContent = truthy(body.include_content);
  } else {
    const raw = pathIds !== undefined ? [decodePath(pathIds)] : url.searchParams.getAll('ids');
    ids = raw.flatMap((part) => part.split(',')).map((id) => id.trim());
    includeContent = truthy(url.searchParams.get('include_content'));
  }
  ids = ids.filter((id) => id !== '');
  if (ids.length === 0) throw problem(400, 'invalid_request', '`ids` is required: one or more event ids');
  if (ids.length > MAX_EVENT_IDS)
    throw problem(400, 'invalid_request', `at most ${MAX_EVENT_IDS} event ids per request, got ${ids.length}`);
  return { ids: [...new Set(ids)], includeContent };
}

export function eventDetails(data: DataSet, query: EventQuery) {
  const resources: EventDetails[] = [];
  const errors: { id: string; code: string; message: string }[] = [];
  for (const id of query.ids) {
    const event = data.event(id, query.includeContent);
    if (event) resources.push(event);
    else errors.push({ id: id.slice(0, 100), code: 'not_found', message: 'no event with this id' });
  }
  return { type: 'events', size: resources.length, resources, errors };
}
