import { isHttpError } from '@sluice/cyberhaven';
import { parseArgs, UsageError } from './args.js';
import { exitCodeFor, exitCodes } from './exit.js';
import { type CliIo, Interrupted, WaitTooLong } from './io.js';
import { call } from './request.js';
import { USAGE } from './usage.js';

export { type Command, parseArgs, REFUSED_KEY_FLAG, UsageError } from './args.js';
export { exitCodeFor, exitCodes } from './exit.js';
export { type CliIo, Interrupted, type Output, WaitTooLong } from './io.js';
export { editLine, type LineEdit } from './line.js';
export { USAGE } from './usage.js';

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
