const BRAND = Symbol.for('sluice.error');

export interface SluiceErrorOptions {
  cause?: unknown;
}

/**
 * Base of every error sluice throws. `code` is stable across versions; `toJSON` keeps only safe fields,
 * never headers, tokens or keys. Subclasses add fields they list in `safeFields`.
 */
export class SluiceError extends Error {
  override name = 'SluiceError';
  readonly code: string;
  // Not `instanceof`: an ESM and a CJS copy of the package each have their own class.
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: SluiceErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** Names of own fields that are safe to serialise. */
  protected safeFields(): readonly string[] {
    return [];
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    const self = this as unknown as Record<string, unknown>;
    for (const field of this.safeFields()) if (self[field] !== undefined) json[field] = self[field];
    return json;
  }
}

/** True for any sluice error, including one from another copy of the package (ESM next to CJS). */
export function isSluiceError(value: unknown): value is SluiceError {
  return (value as Record<symbol, unknown> | undefined)?.[BRAND] === true;
}

/** A guard that recognises errors by `code` across package copies. */
export function hasCode<T extends SluiceError>(value: unknown, code: string): value is T {
  return isSluiceError(value) && value.code === code;
}

/** The pipeline was closed; no new call is accepted and waits still pending are released with this. */
export class ClosedError extends SluiceError {
  override name = 'ClosedError';

  constructor(what = 'pipeline') {
    super('ERR_SLUICE_CLOSED', `sluice ${what} is closed`);
  }
}

/** An interceptor broke the contract (resolved with something that is not a Response). */
export class InterceptorError extends SluiceError {
  override name = 'InterceptorError';
  readonly interceptor: string;

  constructor(interceptor: string, message: string, options?: SluiceErrorOptions) {
    super('ERR_SLUICE_INTERCEPTOR', `${interceptor}: ${message}`, options);
    this.interceptor = interceptor;
  }

  protected override safeFields() {
    return ['interceptor'];
  }
}
