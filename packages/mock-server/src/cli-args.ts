import type { KeySpec, Role } from './keys.js';
import type { Algorithm, ConcurrencyScope, Faults, Latency, MockServerOptions } from './options.js';

export const USAGE = `Usage: sluice-mock [options]

A local simulator of the Cyberhaven v2 API shape, for demos and tests. Listens on loopback.

  --port <n>                    TCP port, 0 for any free one (default 8787)
  --host <addr>                 interface (default 127.0.0.1)
  --time-scale <x>              server time runs x times faster: 10 = a minute in 6 s (default 1)
  --latency <ms>|<min>-<max>    delay before each answer, real ms (default 0)
  --algorithm <name>            sliding-log | fixed-window | token-bucket (default sliding-log)
  --limit <n>                   requests per window per API key (default 60)
  --window <ms>                 window of the limit, server ms (default 60000)
  --concurrency <n>             requests in flight per endpoint per key (default 5)
  --concurrency-scope <s>       path | method+path | route (default path)
  --count-token-exchange <b>    true | false: token exchanges count against the limit (default true)
  --keys <list>                 role:key[:days],... replaces the demo keys (days <= 365; negative = expired)
  --seed <n>                    seed of the data set and of fault decisions (default 1)
  --incidents <n>               incidents in the data set (default 3000)
  --error-rate <0..1>           share of answers that are 500/502/503
  --reset-rate <0..1>           share of connections reset
  --storm <every>:<duration>    429 storms: the last <duration> ms of every <every> ms
  --token-latency <ms>          extra delay on token exchanges
  --malformed-token-rate <0..1> share of token exchanges answered with a malformed body
  --help                        show this text
`;

export interface CliArgs {
  help: boolean;
  port: number;
  host: string;
  /** True when --keys replaced the demo keys. */
  customKeys: boolean;
  options: MockServerOptions;
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} expects a number, got "${value}"`);
  return n;
}

function latency(value: string): Latency {
  const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(value);
  return range ? { min: Number(range[1]), max: Number(range[2]) } : number('--latency', value);
}

function keys(value: string): KeySpec[] {
  return value.split(',').map((entry, i) => {
    const [role, key, days] = entry.split(':');
    if (!role || !key) throw new Error(`--keys entry ${i + 1} must be role:key[:days], got "${entry}"`);
    const spec: KeySpec = { role: role as Role, key, id: `cli-key-${i + 1}` };
    if (days !== undefined) spec.validForMs = number('--keys days', days) * 86_400_000;
    return spec;
  });
}

function bool(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`${flag} expects true or false, got "${value}"`);
}

/** Parses the command line (without `node` and the script). Throws an Error with a message for the user. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { help: false, port: 8787, host: '127.0.0.1', customKeys: false, options: {} };
  const o = out.options;
  const faults: Faults = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const next = () => {
      if (eq > 0) return arg.slice(eq + 1);
      const value = argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '--port':
        out.port = number(flag, next());
        break;
      case '--host':
        out.host = next();
        break;
      case '--time-scale':
        o.timeScale = number(flag, next());
        break;
      case '--latency':
        o.latencyMs = latency(next());
        break;
      case '--algorithm':
        o.algorithm = next() as Algorithm;
        break;
      case '--limit':
        o.limit = number(flag, next());
        break;
      case '--window':
        o.windowMs = number(flag, next());
        break;
      case '--concurrency':
        o.concurrency = number(flag, next());
        break;
      case '--concurrency-scope':
        o.concurrencyScope = next() as ConcurrencyScope;
        break;
      case '--count-token-exchange':
        o.countTokenExchange = bool(flag, next());
        break;
      case '--keys':
        o.keys = keys(next());
        out.customKeys = true;
        break;
      case '--seed':
        o.seed = number(flag, next());
        break;
      case '--incidents':
        o.incidents = number(flag, next());
        break;
      case '--error-rate':
        faults.serverErrorRate = number(flag, next());
        break;
      case '--reset-rate':
        faults.resetRate = number(flag, next());
        break;
      case '--token-latency':
        faults.tokenLatencyMs = number(flag, next());
        break;
      case '--malformed-token-rate':
        faults.malformedTokenRate = number(flag, next());
        break;
      case '--storm': {
        const [every, duration] = next().split(':');
        faults.storm = { everyMs: number(flag, every ?? ''), durationMs: number(flag, duration ?? '') };
        break;
      }
      default:
        throw new Error(`unknown option ${flag}; see --help`);
    }
  }
  if (Object.keys(faults).length > 0) o.faults = faults;
  return out;
}
