import { describeUrl } from '@sluice/core/http';
import { PaginationError } from './errors.js';

/** The body of a v2 list call: filters and sorting; `page_request` is filled in per page. */
export interface ListBody {
  filter?: Record<string, unknown>;
  page_request?: { size?: number; id?: string; sort_by?: string };
  [field: string]: unknown;
}

export interface PaginateOptions {
  /** Items per page, sent as `page_request.size`. @default `body.page_request.size`, else 50 */
  pageSize?: number;
  /** Ends the walk: the page being fetched rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Page {
  resources?: unknown;
  page_response?: { next_id?: unknown };
}

/**
 * Yields every item of a v2 list endpoint, page after page: `page_request: { size, id }` out, `page_response.next_id` back,
 * until a page comes without one. The next page is requested only once the items of the current one have been taken.
 */
export async function* paginate<T>(
  send: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  body: ListBody = {},
  options: PaginateOptions = {},
): AsyncGenerator<T, void, undefined> {
  const size = options.pageSize ?? body.page_request?.size ?? 50;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`\`pageSize\` must be a positive integer, got ${size}`);
  const where = describeUrl(url);
  const seen = new Set<string>();
  let cursor = body.page_request?.id;
  if (cursor !== undefined) seen.add(cursor);
  for (let page = 1; ; page++) {
    const pageRequest = { ...body.page_request, size, ...(cursor === undefined ? {} : { id: cursor }) };
    const response = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...body, page_request: pageRequest }),
      signal: options.signal,
    });
    if (!response.ok) {
      response.body?.cancel().catch(() => {});
      throw new PaginationError(`list call answered ${response.status}`, where, page, response.status);
    }
    let data: Page;
    try {
      data = await response.json();
    } catch (cause) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new PaginationError('page is not JSON', where, page, undefined, { cause });
    }
    if (!Array.isArray(data?.resources)) throw new PaginationError('page has no `resources` array', where, page);
    yield* data.resources as T[];
    const next = data.page_response?.next_id;
    if (next === undefined || next === null || next === '') return;
    // A server that hands back a cursor it gave before would make this loop for ever.
    if (typeof next !== 'string' || seen.has(next)) throw new PaginationError('`page_response.next_id` did not advance', where, page);
    seen.add(next);
    cursor = next;
  }
}
