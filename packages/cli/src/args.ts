/** A command line that cannot run; the message names what is wrong, never a value that may be secret. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Command =
  | { kind: 'help' }
  | { kind: 'mock'; port: number; host: string }
  | {
      kind: 'request';
      method: string;
      path: string;
      data?: string;
      paginate: boolean;
      verbose: boolean;
      baseUrl?: string;
      keyStdin: boolean;
      retries?: number;
      /** Longest wait for the rate limit, ms. */
      maxWaitMs: number;
      /** Where to write the HTML report of the run. */
      report?: string;
    };

const VALUE_FLAGS = new Set(['--data', '-d', '--base-url', '--retries', '--max-wait', '--report', '--port', '--host']);
const BOOLEAN_FLAGS = new Set(['--paginate', '--verbose', '-v', '--key-stdin', '--help', '-h']);
// A key given as an argument shows in `ps`, /proc/<pid>/cmdline and shell history.
const SECRET_FLAG = /^--?(api[-_]?key|key|token|access[-_]?token|secret|password)$/i;

export const REFUSED_KEY_FLAG =
  'is not accepted: a key on the command line shows in process lists (ps) and shell history. ' +
  'Set SLUICE_API_KEY, type it at the hidden prompt, or pipe it in with --key-stdin';

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

/** Reads `argv` (without `node` and the script). Flags may come anywhere, as `--flag value` or `--flag=value`. */
export function parseArgs(argv: readonly string[]): Command {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (SECRET_FLAG.test(name)) throw new UsageError(`${name} ${REFUSED_KEY_FLAG}`);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags.set(name, true);
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else throw new UsageError(`unknown option ${name}`);
  }
  const flag = (...names: string[]) => names.map((n) => flags.get(n)).find((v) => v !== undefined);
  if (flag('--help', '-h') || positional[0] === 'help') return { kind: 'help' };
  if (positional[0] === 'mock') {
    if (positional.length > 1) throw new UsageError('`sluice mock` takes no argument, only --port and --host');
    const port = flag('--port');
    return {
      kind: 'mock',
      port: port === undefined ? 8787 : integer('--port', port as string, 0, 65535),
      host: (flag('--host') as string) ?? '127.0.0.1',
    };
  }
  for (const only of ['--port', '--host']) if (flags.has(only)) throw new UsageError(`${only} is an option of \`sluice mock\``);
  const [method, path, ...rest] = positional;
  if (!method || !path) throw new UsageError('expected a method and a path, like: sluice GET /v2/event-details?ids=evt_1');
  // Arguments are not quoted back: one of them may be a key typed in the wrong place.
  if (rest.length > 0) throw new UsageError('expected a method and a path, and nothing after them (quote a path that has spaces)');
  if (!/^[A-Za-z]{1,16}$/.test(method)) throw new UsageError('the first argument must be an HTTP method: GET, POST, PUT, PATCH, DELETE');
  const retries = flag('--retries');
  const maxWait = flag('--max-wait');
  return {
    kind: 'request',
    method: method.toUpperCase(),
    path,
    data: flag('--data', '-d') as string | undefined,
    paginate: flag('--paginate') === true,
    verbose: flag('--verbose', '-v') === true,
    baseUrl: flag('--base-url') as string | undefined,
    keyStdin: flag('--key-stdin') === true,
    retries: retries === undefined ? undefined : integer('--retries', retries as string, 0, 10),
    maxWaitMs: maxWait === undefined ? 120_000 : integer('--max-wait', maxWait as string, 0, 86_400) * 1000,
    report: flag('--report') as string | undefined,
  };
}
