// The secret audit of the unit run. Loaded by test/unit.mjs before any suite (or with `--import` before a test file),
// it collects every API key and token the tests use and every surface they must never reach (bus events, errors'
// message, stack and JSON, stdout and stderr, console included), and at exit fails the run if a secret reached one.
import { register } from 'node:module';
import { type Collector, createCollector, type Leak, redact } from './collector.js';

const KEY = Symbol.for('sluice.audit');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const g = globalThis as unknown as Record<string | symbol, unknown>;

function install(): Collector {
  const audit = createCollector();
  g[KEY] = audit;

  // Errors: every constructor call, subclasses defined later included (they extend the proxy).
  for (const name of ['Error', 'TypeError', 'RangeError', 'SyntaxError'] as const) {
    const Target = globalThis[name] as ErrorConstructor;
    const handler: ProxyHandler<ErrorConstructor> = {
      construct(target, args, newTarget) {
        const error = Reflect.construct(target, args, newTarget) as Error;
        // The stack starts where the error was made, as without the proxy.
        Error.captureStackTrace(error, newTarget === proxy ? handler.construct : newTarget);
        audit.error(error);
        return error;
      },
      apply(target, self, args) {
        const error = Reflect.apply(target, self, args) as Error;
        audit.error(error);
        return error;
      },
    };
    const proxy = new Proxy(Target, handler);
    Object.defineProperty(Target.prototype, 'constructor', { value: proxy, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(globalThis, name, { value: proxy, writable: true, configurable: true, enumerable: false });
  }
  const DOMExceptionReal = globalThis.DOMException;
  globalThis.DOMException = new Proxy(DOMExceptionReal, {
    construct(target, args, newTarget) {
      const error = Reflect.construct(target, args, newTarget) as DOMException;
      audit.error(error);
      return error;
    },
  });

  // Tokens as they are minted: the simulator and the tests' fake APIs answer with JSON bodies built here.
  const scanBody = (body: unknown, source: string) => {
    if (typeof body === 'string') audit.secretsIn(body, source);
    else if (body instanceof Uint8Array && body.byteLength < 65_536) audit.secretsIn(new TextDecoder().decode(body), source);
  };
  const SECRET_HEADER = /authorization|api[-_]?key|token|secret/i;
  const scanHeader = (name: unknown, value: unknown) => {
    if (typeof name === 'string' && typeof value === 'string' && SECRET_HEADER.test(name)) {
      audit.secretsIn(value, `${name.toLowerCase()} header`);
      if (!/^\s*(Bearer|Basic|Token)\s/i.test(value)) audit.secret(value, `${name.toLowerCase()} header`);
    }
  };
  const scanHeaders = (init: unknown) => {
    if (init === null || typeof init !== 'object') return;
    if (init instanceof Headers) for (const [name, value] of init) scanHeader(name, value);
    else if (Array.isArray(init)) for (const pair of init) scanHeader(pair?.[0], pair?.[1]);
    else for (const [name, value] of Object.entries(init)) scanHeader(name, value);
  };
  const ResponseReal = globalThis.Response;
  globalThis.Response = new Proxy(ResponseReal, {
    construct(target, args, newTarget) {
      scanBody(args[0], 'token response');
      scanHeaders((args[1] as ResponseInit | undefined)?.headers);
      return Reflect.construct(target, args, newTarget);
    },
  });
  const RequestReal = globalThis.Request;
  globalThis.Request = new Proxy(RequestReal, {
    construct(target, args, newTarget) {
      const init = args[1] as RequestInit | undefined;
      scanBody(init?.body, 'request body');
      scanHeaders(init?.headers);
      return Reflect.construct(target, args, newTarget);
    },
  });
  const HeadersReal = globalThis.Headers;
  globalThis.Headers = new Proxy(HeadersReal, {
    construct(target, args, newTarget) {
      scanHeaders(args[0]);
      return Reflect.construct(target, args, newTarget);
    },
  });
  for (const method of ['set', 'append'] as const) {
    const original = HeadersReal.prototype[method];
    Object.defineProperty(HeadersReal.prototype, method, {
      value: function auditedHeader(this: Headers, name: string, value: string) {
        scanHeader(name, value);
        return original.call(this, name, value);
      },
      writable: true,
      configurable: true,
    });
  }

  // Output: console writes through these too. uvu names each file before running it; reports say which one.
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = process[stream];
    const write = target.write;
    target.write = function auditedWrite(this: unknown, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : '';
      const file = /(\S+\.test\.ts)\s*$/.exec(text.replace(ANSI, ''));
      if (file) audit.setWhere(`test/${file[1]}`);
      audit.output(stream, text);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof target.write;
  }

  register('./hooks.mjs', import.meta.url);
  return audit;
}

export function report(leaks: Leak[], stats: ReturnType<Collector['stats']>): string {
  const lines = [
    '',
    `── secret audit: ${stats.secrets} secrets checked against ${stats.events} events, ${stats.errors} errors and ${Math.round(stats.outputBytes / 1024)} KB of output`,
  ];
  const unique = new Map<string, Leak>();
  for (const leak of leaks) unique.set(`${leak.secret}|${leak.surface}|${leak.where}`, leak);
  for (const leak of [...unique.values()].slice(0, 50)) {
    lines.push(`  leak: ${redact(leak.secret)} from ${leak.secretSource}, in ${leak.surface} (${leak.where})`);
  }
  if (unique.size > 50) lines.push(`  ... and ${unique.size - 50} more`);
  lines.push(unique.size === 0 ? '  no secret found in any of them' : `  ${unique.size} leaks`);
  // Counted as one test by test/all.mjs, which sums uvu's Total and Passed lines.
  lines.push(`  Total:     1`, `  Passed:    ${unique.size === 0 ? 1 : 0}`, '');
  return lines.join('\n');
}

if (!g[KEY]) {
  const audit = install();
  process.once('exit', () => {
    const leaks = audit.scan();
    process.stdout.write(report(leaks, audit.stats()));
    if (leaks.length > 0) process.exitCode = 1;
  });
}
