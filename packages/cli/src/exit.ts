import { isSluiceError } from '@sluice/cyberhaven';

/** The process exit codes, listed in `--help`. */
export const exitCodes = Object.freeze({
  /** The call succeeded (2xx). */
  ok: 0,
  /** A bug or an unexpected failure. */
  internal: 1,
  /** The command line is wrong, or no key, base URL or valid `--data` was given. */
  usage: 2,
  /** 401 or 403: the key is wrong, expired or revoked, or its role may not call this. */
  auth: 3,
  /** 404 or another 4xx: the request is wrong. */
  client: 4,
  /** 429 still, after the retry policy gave up. */
  rateLimited: 5,
  /** 5xx, or an answer the client cannot use. */
  server: 6,
  /** No answer: connection refused or reset, DNS, TLS, timeout. */
  network: 7,
  /** Ctrl-C. */
  interrupted: 130,
});

const BY_CODE: Record<string, number> = {
  ERR_SLUICE_AUTHENTICATION: exitCodes.auth,
  ERR_SLUICE_PERMISSION: exitCodes.auth,
  ERR_SLUICE_INVALID_API_KEY: exitCodes.auth,
  ERR_SLUICE_NOT_FOUND: exitCodes.client,
  ERR_SLUICE_CLIENT: exitCodes.client,
  ERR_SLUICE_RATE_LIMITED: exitCodes.rateLimited,
  ERR_SLUICE_QUEUE_FULL: exitCodes.rateLimited,
  ERR_SLUICE_QUEUE_TIMEOUT: exitCodes.rateLimited,
  ERR_SLUICE_SERVER: exitCodes.server,
  ERR_SLUICE_TOKEN_RESPONSE: exitCodes.server,
  ERR_SLUICE_NETWORK: exitCodes.network,
  ERR_SLUICE_TIMEOUT: exitCodes.network,
  ERR_SLUICE_INSECURE_TRANSPORT: exitCodes.usage,
};

const byStatus = (status: number | undefined): number => {
  if (status === undefined) return exitCodes.network;
  if (status === 401 || status === 403) return exitCodes.auth;
  if (status === 429) return exitCodes.rateLimited;
  return status >= 500 ? exitCodes.server : exitCodes.client;
};

/** The exit code for what a call threw. */
export function exitCodeFor(error: unknown): number {
  if (!isSluiceError(error)) return exitCodes.internal;
  const { code, status } = error as { code: string; status?: number };
  // The token exchange and the paginator report the status they got, or none when no answer came.
  if (code === 'ERR_SLUICE_TOKEN_EXCHANGE') return byStatus(status);
  if (code === 'ERR_SLUICE_PAGINATION') return status === undefined ? exitCodes.server : byStatus(status);
  return BY_CODE[code] ?? exitCodes.internal;
}
