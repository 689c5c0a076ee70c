import { hasCode, SluiceError, type SluiceErrorOptions } from '@sluice/core';

/** A list walk cannot go on: the page answered an error status, is not a page, or its cursor did not advance. */
export class PaginationError extends SluiceError {
  override name = 'PaginationError';

  constructor(
    problem: string,
    /** List URL, without query. */
    readonly url: string,
    /** Page that failed, 1 for the first. */
    readonly page: number,
    /** HTTP status of that page, when it came back with an error status. */
    readonly status?: number,
    options?: SluiceErrorOptions,
  ) {
    super('ERR_SLUICE_PAGINATION', `${problem} (page ${page}): POST ${url}`, options);
  }

  protected override safeFields(): readonly string[] {
    return ['url', 'page', 'status'];
  }
}

export const isPaginationError = (value: unknown): value is PaginationError => hasCode(value, 'ERR_SLUICE_PAGINATION');
