import { describeUrl, type FetchLike } from '@sluice/core';
import { type CyberhavenClient, createCyberhavenClient, isHttpError } from '@sluice/cyberhaven';
import { type Command, parseArgs, UsageError } from './args.js';
import { exitCodeFor, exitCodes } from './exit.js';
import { USAGE } from './usage.js';

export { parseArgs, REFUSED_KEY_FLAG, UsageError } from './args.js';
export { exitCodeFor, exitCodes } from './exit.js';
export { editLine, type LineEdit } from './line.js';
export { USAGE } from './usage.js';

export interface Output {
  write(text: string): unknown;
  /** A terminal: JSON is printed indented. */
  isTTY?: boolean;
}

/** Everything `run` needs from the process, so it runs anywhere and in tests. */
export interface CliIo {
  /** Read for SLUICE_API_KEY, CYBERHAVEN_API_KEY, SLUICE_BASE_URL and CYBERHAVEN_BASE_URL. */
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  /** Reads `--data @file`. */
  readFile(path: string): Promise<string>;
  /** The first line of standard input, for `--key-stdin`. */
  readStdinLine(): Promise<string>;
  /** Reads a line from the terminal without echo; absent when standard input is not a terminal. */
  promptHidden?(prompt: string): Promise<string>;
  /** Runs `sluice mock`; resolves with the exit code once it stops. */
  startMock?(port: number, host: string): Promise<number>;
  /** Transport at the end of the pipeline. @default the global `fetch` */
  fetch?: FetchLike;
  /** Ends the call, as Ctrl-C does: `run` resolves with 130. */
  signal?: AbortSignal;
}

/** The user ended the hidden prompt with Ctrl-C. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

/** The rate limit holds the key for longer than `--max-wait`. */
export class WaitTooLong extends Error {
  override name = 'WaitTooLong';
}

async function readKey(cmd: Extract<Command, { kind: 'request' }>, io: CliIo, origin: string): Promise<string> {
  const fromEnv = (io.env.SLUICE_API_KEY || io.env.CYBERHAVEN_API_KEY)?.trim();
  if (fromEnv) return fromEnv;
  let key: string | undefined;
  if (io.promptHidden) key = await io.promptHidden(`API key for ${origin}: `);
  else if (cmd.keyStdin) key = await io.readStdinLine();
  else throw new UsageError('no API key: set SLUICE_API_KEY, or pipe it in with --key-stdin (on a terminal, a hidden prompt asks for it)');
  if (!key.trim()) throw new UsageError('no API key was given');
  return key.trim();
}

async function readBody(cmd: Extract<Command, { kind: 'request' }>, io: CliIo): Promise<string | undefined> {
  if (cmd.data === undefined) return undefined;
  let text = cmd.data;
  if (text.startsWith('@')) {
    try {
      text = await io.readFile(text.slice(1));
    } catch (error) {
      throw new UsageError(`cannot read ${text}: ${(error as { code?: string }).code ?? 'read failed'}`);
    }
  }
  try {
    JSON.parse(text);
  } catch {
    // The parser's message quotes the input; the input is not repeated back.
    throw new UsageError(`--data is not valid JSON${cmd.data.startsWith('@') ? ` (${cmd.data})` : ''}`);
  }
  if (cmd.method === 'GET' || cmd.method === 'HEAD') throw new UsageError(`--data needs a method with a body, not ${cmd.method}`);
  return text;
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

async function call(cmd: Extract<Command, { kind: 'request' }>, io: CliIo, out: (t: string) => void, err: (t: string) => void) {
  const body = await readBody(cmd, io);
  const baseUrl = cmd.baseUrl ?? io.env.SLUICE_BASE_URL ?? io.env.CYBERHAVEN_BASE_URL;
  if (!baseUrl) throw new UsageError('no base URL: pass --base-url https://<tenant>.cyberhaven.io, or set SLUICE_BASE_URL');
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    throw new UsageError('the base URL is not a URL, like https://acme.cyberhaven.io');
  }
  let url: URL;
  try {
    url = new URL(cmd.path, origin);
  } catch {
    throw new UsageError('the path is not a URL path, like /v2/event-details?ids=evt_1');
  }
  if (url.origin !== origin) throw new UsageError(`the path must be on ${origin}: a token is sent there only`);
  if (cmd.paginate && cmd.method !== 'POST') throw new UsageError('--paginate walks POST list endpoints (page_request / page_response)');

  const send: FetchLike = io.fetch ?? ((request) => globalThis.fetch(request));
  const transport: FetchLike = !cmd.verbose
    ? send
    : async (request) => {
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
  const apiKey = await readKey(cmd, io, origin);
  const tries = cmd.retries === undefined ? {} : { maxRetries: cmd.retries };
  let client: CyberhavenClient;
  try {
    const rateLimit = { maxWaitMs: cmd.maxWaitMs };
    client = createCyberhavenClient({ baseUrl, apiKey, fetch: transport, retry: tries, auth: tries, rateLimit });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (cmd.verbose) client.events.on('*', (type, payload) => err(`${describeEvent(type, payload as object)}\n`));
  // A request that queues behind a pause longer than --max-wait ends now, not when the wait would; a long wait is announced.
  // (The CLI sends one request at a time, so a pause holds the call only once its next request queues.)
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
    const at = new Date(pausedUntil).toISOString();
    const message = `rate limited: the key may send again at ${at} (in ${Math.ceil(delayMs / 1000)} s), later than --max-wait ${cmd.maxWaitMs / 1000} s allows`;
    stop.abort(new WaitTooLong(message));
  });
  const signal = stop.signal;
  try {
    if (cmd.paginate) {
      const list = body === undefined ? {} : JSON.parse(body);
      if (typeof list !== 'object' || list === null || Array.isArray(list))
        throw new UsageError('--paginate needs --data to be a JSON object');
      for await (const item of client.paginate(url.pathname + url.search, list, { signal })) out(`${JSON.stringify(item)}\n`);
      return;
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await client.fetch(url.href, { method: cmd.method, headers, body, signal });
    const text = await response.text();
    if (!text) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return out(text.endsWith('\n') ? text : `${text}\n`);
    }
    out(`${io.stdout.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    await client.close();
  }
}

/** Runs one `sluice` command line; resolves with the exit code (see `exitCodes`). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  // Whatever goes out, the key does not: every line written is scrubbed of it, once it is known.
  let secret: string | undefined;
  const scrub = (text: string) => (secret && secret.length >= 8 ? text.split(secret).join('[redacted]') : text);
  const out = (text: string) => io.stdout.write(scrub(text));
  const err = (text: string) => io.stderr.write(scrub(text));
  try {
    const cmd = parseArgs(argv);
    if (cmd.kind === 'help') {
      out(USAGE);
      return exitCodes.ok;
    }
    if (cmd.kind === 'mock') {
      if (!io.startMock) throw new UsageError('`sluice mock` needs Node');
      return await io.startMock(cmd.port, cmd.host);
    }
    const env = io.env;
    secret = (env.SLUICE_API_KEY || env.CYBERHAVEN_API_KEY)?.trim();
    const readLine = io.readStdinLine;
    const prompt = io.promptHidden;
    // Remember the key wherever it came from, so that it is scrubbed too.
    const keep = async (p: Promise<string>) => (secret = (await p).trim());
    await call(
      cmd,
      {
        ...io,
        readStdinLine: () => keep(readLine.call(io)),
        promptHidden: prompt && ((text: string) => keep(prompt.call(io, text))),
      },
      out,
      err,
    );
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`sluice: ${error.message}\nRun \`sluice --help\` for usage.\n`);
      return exitCodes.usage;
    }
    if (error instanceof WaitTooLong) {
      err(`sluice: ${error.message}\n`);
      return exitCodes.rateLimited;
    }
    if (error instanceof Interrupted || io.signal?.aborted) {
      err('sluice: interrupted\n');
      return exitCodes.interrupted;
    }
    const message = error instanceof Error ? error.message : String(error);
    err(`sluice: ${message}${isHttpError(error) && error.requestId ? ` (request id ${error.requestId})` : ''}\n`);
    if (isHttpError(error) && error.body !== undefined) err(`${JSON.stringify(error.body)}\n`);
    return exitCodeFor(error);
  }
}
