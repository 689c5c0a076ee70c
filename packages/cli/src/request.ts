import type { FetchLike } from '@sluice/core';
import { describeUrl } from '@sluice/core/http';
import { type CyberhavenClient, createCyberhavenClient } from '@sluice/cyberhaven';
import { type Command, UsageError } from './args.js';
import { type CliIo, WaitTooLong } from './io.js';
import { loadReport, recordReport } from './report.js';

type RequestCommand = Extract<Command, { kind: 'request' }>;
type Write = (text: string) => void;

async function readKey(cmd: RequestCommand, io: CliIo, origin: string): Promise<string> {
  const fromEnv = (io.env.SLUICE_API_KEY || io.env.CYBERHAVEN_API_KEY)?.trim();
  if (fromEnv) return fromEnv;
  let key: string;
  if (io.promptHidden) key = await io.promptHidden(`API key for ${origin}: `);
  else if (cmd.keyStdin) key = await io.readStdinLine();
  else throw new UsageError('no API key: set SLUICE_API_KEY, or pipe it in with --key-stdin (on a terminal, a hidden prompt asks for it)');
  if (!key.trim()) throw new UsageError('no API key was given');
  return key.trim();
}

/** The body `--data` gives, checked to be JSON (and an object, for `--paginate`). */
async function readBody(cmd: RequestCommand, io: CliIo): Promise<string | undefined> {
  if (cmd.paginate && cmd.method !== 'POST') throw new UsageError('--paginate walks POST list endpoints (page_request / page_response)');
  if (cmd.data === undefined) return undefined;
  if (cmd.method === 'GET' || cmd.method === 'HEAD') throw new UsageError(`--data needs a method with a body, not ${cmd.method}`);
  let text = cmd.data;
  if (text.startsWith('@')) {
    try {
      text = await io.readFile(text.slice(1));
    } catch (error) {
      throw new UsageError(`cannot read ${cmd.data}: ${(error as { code?: string }).code ?? 'read failed'}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input, which is not repeated back.
    throw new UsageError(`--data is not valid JSON${cmd.data.startsWith('@') ? ` (${cmd.data})` : ''}`);
  }
  if (cmd.paginate && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new UsageError('--paginate needs --data to be a JSON object');
  }
  return text;
}

/** The base URL and the URL to call on it. */
function target(cmd: RequestCommand, io: CliIo) {
  const baseUrl = cmd.baseUrl ?? io.env.SLUICE_BASE_URL ?? io.env.CYBERHAVEN_BASE_URL;
  if (!baseUrl) throw new UsageError('no base URL: pass --base-url https://<tenant>.cyberhaven.io, or set SLUICE_BASE_URL');
  let origin: string;
  let url: URL;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    throw new UsageError('the base URL is not a URL, like https://acme.cyberhaven.io');
  }
  try {
    url = new URL(cmd.path, origin);
  } catch {
    throw new UsageError('the path is not a URL path, like /v2/event-details?ids=evt_1');
  }
  if (url.origin !== origin) throw new UsageError(`the path must be on ${origin}: a token is sent there only`);
  return { baseUrl, origin, url };
}

const ISO_FIELDS = /At$|^until$/;
function describeEvent(type: string, payload: object): string {
  const fields = Object.entries(payload)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (typeof v === 'number' && ISO_FIELDS.test(k) && v > 1e12) return `${k}=${new Date(v).toISOString()}`;
      if (v instanceof Error) return `${k}=${v.name}: ${v.message}`;
      return `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
    });
  return `* ${type} ${fields.join(' ')}`;
}

/** The transport, printing each request and its answer: method and URL without the query, never a header. */
const logged =
  (send: FetchLike, err: Write): FetchLike =>
  async (request) => {
    const where = `${request.method} ${describeUrl(request.url)}`;
    const started = Date.now();
    err(`> ${where}\n`);
    try {
      const response = await send(request);
      err(`< ${response.status} ${where} (${Date.now() - started} ms)\n`);
      return response;
    } catch (error) {
      err(`< no answer: ${where} (${error instanceof Error ? error.message : 'failed'})\n`);
      throw error;
    }
  };

/**
 * The call's signal: Ctrl-C, or a request that queues behind a pause longer than --max-wait, which ends the call now
 * rather than when the wait would. The CLI sends one request at a time, so a pause holds it once its next request queues.
 */
function guardWaits(client: CyberhavenClient, cmd: RequestCommand, io: CliIo, err: Write) {
  const stop = new AbortController();
  const onAbort = () => stop.abort(io.signal?.reason);
  io.signal?.addEventListener('abort', onAbort);
  let pausedUntil = 0;
  client.events.on('rate-limit:paused', ({ until, delayMs }) => {
    pausedUntil = until;
    if (delayMs >= 5_000 && delayMs <= cmd.maxWaitMs && !cmd.verbose) {
      err(`sluice: rate limited, waiting ${Math.ceil(delayMs / 1000)} s (until ${new Date(until).toISOString()})\n`);
    }
  });
  client.events.on('rate-limit:queued', () => {
    const delayMs = pausedUntil - Date.now();
    if (delayMs <= cmd.maxWaitMs) return;
    const at = `${new Date(pausedUntil).toISOString()} (in ${Math.ceil(delayMs / 1000)} s)`;
    stop.abort(new WaitTooLong(`rate limited: the key may send again at ${at}, later than --max-wait ${cmd.maxWaitMs / 1000} s allows`));
  });
  return { signal: stop.signal, release: () => io.signal?.removeEventListener('abort', onAbort) };
}

/** Runs one request command: the body on stdout, `--verbose` on stderr. Throws what the pipeline threw. */
export async function call(cmd: RequestCommand, io: CliIo, out: Write, err: Write): Promise<void> {
  const body = await readBody(cmd, io);
  const { baseUrl, origin, url } = target(cmd, io);
  const send: FetchLike = io.fetch ?? ((request) => globalThis.fetch(request));
  const report = cmd.report === undefined ? undefined : await loadReport();
  const apiKey = await readKey(cmd, io, origin);
  const tries = cmd.retries === undefined ? {} : { maxRetries: cmd.retries };
  let client: CyberhavenClient;
  try {
    client = createCyberhavenClient({
      baseUrl,
      apiKey,
      fetch: cmd.verbose ? logged(send, err) : send,
      retry: tries,
      auth: tries,
      rateLimit: { maxWaitMs: cmd.maxWaitMs },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (cmd.verbose) client.events.on('*', (type, payload) => err(`${describeEvent(type, payload as object)}\n`));
  const what = `${cmd.method} ${describeUrl(url.href)}${cmd.paginate ? ' --paginate' : ''}`;
  const writeReport = report && recordReport(report, client, io, cmd.report as string, what);
  const { signal, release } = guardWaits(client, cmd, io, err);
  let items: number | undefined;
  let failed = true;
  try {
    if (cmd.paginate) {
      const list = body === undefined ? {} : JSON.parse(body);
      items = 0;
      for await (const item of client.paginate(url.pathname + url.search, list, { signal })) {
        out(`${JSON.stringify(item)}\n`);
        items++;
      }
      failed = false;
      return;
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await client.fetch(url.href, { method: cmd.method, headers, body, signal });
    const text = await response.text();
    failed = false;
    if (!text) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return out(text.endsWith('\n') ? text : `${text}\n`);
    }
    out(`${io.stdout.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);
  } finally {
    release();
    await client.close();
    await writeReport?.(items, failed, err);
  }
}
