import type { DataSet, Incident } from './data.js';
import { problem } from './http.js';

/** Filters of `POST /v2/incidents/list`, named as in the vendor's v2 docs. Unknown fields are ignored. */
const LIST_FILTERS = {
  policy_ids: (i: Incident) => i.policy.id,
  policy_severities: (i: Incident) => i.policy.severity,
  dataset_ids: (i: Incident) => i.dataset.id,
  dataset_sensitivities: (i: Incident) => i.dataset.sensitivity,
  users: (i: Incident) => i.user,
  assignees: (i: Incident) => i.assignee ?? '',
  hostnames: (i: Incident) => i.hostname,
  resolution_statuses: (i: Incident) => i.resolution_status,
} as const;

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 50;

export interface ListQuery {
  match: (incident: Incident) => boolean;
  size: number;
  desc: boolean;
  /** Index (in oldest-first order) of the last incident already returned. */
  after: number | undefined;
}

function objectField(body: Record<string, unknown> | undefined, name: string): Record<string, unknown> {
  const value = body?.[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw problem(400, 'invalid_request', `\`${name}\` must be an object`);
  return value as Record<string, unknown>;
}

function time(filter: Record<string, unknown>, name: string): number | undefined {
  const value = filter[name];
  if (value === undefined || value === null) return undefined;
  const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw problem(400, 'invalid_request', `\`filter.${name}\` must be an ISO 8601 time`);
  return at;
}

function encodeCursor(after: number, desc: boolean): string {
  return btoa(JSON.stringify({ a: after, d: desc ? 1 : 0 }))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function decodeCursor(id: unknown, total: number): { after: number; desc: boolean } {
  const invalid = () => problem(400, 'invalid_page_id', '`page_request.id` is not a page id this server issued');
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(id)) throw invalid();
  try {
    const value = JSON.parse(atob(id.replace(/-/g, '+').replace(/_/g, '/'))) as { a?: unknown; d?: unknown };
    if (!Number.isInteger(value.a) || (value.a as number) < 0 || (value.a as number) >= total || (value.d !== 0 && value.d !== 1))
      throw invalid();
    return { after: value.a as number, desc: value.d === 1 };
  } catch {
    throw invalid();
  }
}

/** Validates a list body: `{ filter?, page_request?: { size?, id?, sort_by? } }`. Throws a 400 Problem. */
export function parseListRequest(body: Record<string, unknown> | undefined, total: number): ListQuery {
  const filter = objectField(body, 'filter');
  const page = objectField(body, 'page_request');
  const checks: ((i: Incident) => boolean)[] = [];
  for (const [name, read] of Object.entries(LIST_FILTERS)) {
    const value = filter[name];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw problem(400, 'invalid_request', `\`filter.${name}\` must be an array of strings`);
    }
    const wanted = new Set(value as string[]);
    checks.push((i) => wanted.has(read(i)));
  }
  const start = time(filter, 'start_time');
  const end = time(filter, 'end_time');
  if (start !== undefined) checks.push((i) => Date.parse(i.trigger_time) >= start);
  if (end !== undefined) checks.push((i) => Date.parse(i.trigger_time) <= end);

  const size = page.size ?? DEFAULT_PAGE_SIZE;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw problem(400, 'invalid_request', `\`page_request.size\` must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const sort = page.sort_by ?? 'trigger_time desc';
  if (typeof sort !== 'string' || !/^trigger_time( (asc|desc))?$/i.test(sort.trim())) {
    throw problem(400, 'invalid_request', '`page_request.sort_by` must be "trigger_time asc" or "trigger_time desc"');
  }
  let desc = /desc$/i.test(sort.trim());
  let after: number | undefined;
  if (page.id !== undefined && page.id !== null && page.id !== '') {
    const cursor = decodeCursor(page.id, total);
    if (page.sort_by !== undefined && cursor.desc !== desc) {
      throw problem(400, 'invalid_page_id', '`page_request.id` belongs to a walk in the other sort order');
    }
    desc = cursor.desc;
    after = cursor.after;
  }
  return { match: (i) => checks.every((check) => check(i)), size, desc, after };
}

/** One page, walked by keyset: a page id points after the last incident returned, so no incident repeats. */
export function listIncidents(data: DataSet, query: ListQuery) {
  const all = data.incidents;
  const step = query.desc ? -1 : 1;
  let i = query.after === undefined ? (query.desc ? all.length - 1 : 0) : query.after + step;
  const resources: Incident[] = [];
  let last = -1;
  let more = false;
  for (; i >= 0 && i < all.length; i += step) {
    const incident = all[i] as Incident;
    if (!query.match(incident)) continue;
    if (resources.length === query.size) {
      more = true;
      break;
    }
    resources.push(incident);
    last = i;
  }
  const page_response: { next_id?: string } = more ? { next_id: encodeCursor(last, query.desc) } : {};
  return { type: 'incidents', size: resources.length, resources, page_response };
}
