// Collects secrets (API keys, tokens) and every surface they must never reach (bus events, errors, output), and
// finds which secret reached which surface. The preload feeds one collector for the whole unit run; the self-test
// makes its own. A secret counts in the test file that handled it (or everywhere, when the preload learnt it): test
// files share a process but never a pipeline, and a value one file fuzzes as a token (`__proto`) may stand by chance
// in another file's URL. Every secret a pipeline handles passes the file's own registration points (options, token
// answers, request headers), so a secret that crossed files would be registered in the second file too.

export interface Leak {
  secret: string;
  /** Where the secret came from: `authToken({ apiKey })`, `token response`, `authorization header`, ... */
  secretSource: string;
  /** `event auth:token-acquired`, `error TokenExchangeError stack`, `stdout`, ... */
  surface: string;
  /** Where it was made: the test file running, and for an error the line that constructed it. */
  where: string;
}

interface Seen {
  surface: string;
  text: string;
  where: string;
  /** The test file running when the surface was made. */
  file: string;
}

export interface Collector {
  /** Remembers a secret; values too short or too plain to search for are ignored (see `isSearchable`). */
  secret(value: unknown, source: string): void;
  /** Pulls secrets out of a body or header value: token and key fields of JSON, bearer credentials. */
  secretsIn(text: string, source: string): void;
  event(type: string, payload: unknown): void;
  /** Keeps an error to read its message, stack and JSON later, once its constructor has finished. */
  error(error: object): void;
  output(stream: string, text: string): void;
  /** The test file running now, for reports. */
  setWhere(where: string): void;
  /** True when `value` is a remembered secret. */
  knows(value: string): boolean;
  scan(): Leak[];
  stats(): { secrets: number; events: number; errors: number; outputBytes: number };
}

/** Short or plain values ('t', 'expired', 'opaque') would match everywhere; real keys and tokens are neither. */
export function isSearchable(value: string): boolean {
  return value.length >= 5 && (value.length >= 20 || /[\d_.-]/.test(value)) && !/^\d+$/.test(value);
}

/** `sk_l…ef (32 chars)`: enough to tell secrets apart in a report, not enough to use one. */
export function redact(secret: string): string {
  const keep = secret.length >= 12 ? 4 : 2;
  return `${secret.slice(0, keep)}…${secret.slice(-2)} (${secret.length} chars)`;
}

const TOKEN_FIELD = /"(?:access_token|accessToken|id_token|refresh_token|token|jwt|api_key|apiKey)"\s*:\s*"([^"\\]+)"/g;
const CREDENTIAL = /^\s*(?:Bearer|Basic|Token)\s+(\S+)\s*$/i;

function stringify(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_key, v) => {
        if (typeof v === 'bigint') return v.toString();
        if (v instanceof Error) return { name: v.name, message: v.message };
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

// Errors made by the tests themselves (a transport scripted to fail "with the key") are fixtures, not leaks;
// errors made anywhere else (packages, node_modules) and every sluice error are checked.
const TEST_FRAME = /\/test\/[^\s:)]*\.ts:\d+/;
const AUDIT_FRAME = /\/test\/audit\/(collector|preload|wrap\/)/;

function constructedAt(stack: string): string {
  const frame = stack.split('\n').find((line) => line.trim().startsWith('at ') && !AUDIT_FRAME.test(line));
  return frame?.trim().replace(/^at /, '') ?? 'unknown';
}

export function createCollector(): Collector {
  const secrets = new Map<string, { source: string; files: Set<string> }>();
  const seen: Seen[] = [];
  // Output is kept whole per stream and test file, so a secret written in two pieces is still found.
  const outputs = new Map<string, Seen>();
  const texts = new Set<string>();
  let errors: { error: object; where: string }[] = [];
  const counts = { events: 0, errors: 0, outputBytes: 0 };
  let where = 'preload';

  const keep = (surface: string, text: string, file = where, at = file) => {
    const id = `${surface}\u0000${at}\u0000${text}`;
    if (texts.has(id)) return;
    texts.add(id);
    seen.push({ surface, text, where: at, file });
  };

  const readError = ({ error, where: at }: { error: object; where: string }) => {
    const e = error as Error & { code?: unknown };
    let stack = '';
    try {
      stack = String(e.stack ?? '');
    } catch {}
    const origin = constructedAt(stack);
    const branded = (e as unknown as Record<symbol, unknown>)[Symbol.for('sluice.error')] === true;
    if (!branded && TEST_FRAME.test(origin)) return;
    const name = (() => {
      try {
        return String(e.name);
      } catch {
        return 'Error';
      }
    })();
    const place = `${at}, constructed at ${origin}`;
    try {
      keep(`error ${name} message`, String(e.message), at, place);
    } catch {}
    keep(`error ${name} stack`, stack, at, place);
    keep(`error ${name} JSON`, stringify(e), at, place);
  };

  // Errors are read in batches, leaving the newest: a subclass may still be in its constructor.
  const drain = (all: boolean) => {
    const ready = all ? errors : errors.slice(0, -100);
    errors = all ? [] : errors.slice(-100);
    for (const entry of ready) readError(entry);
  };

  const collector: Collector = {
    secret(value, source) {
      if (typeof value !== 'string') return;
      const trimmed = value.trim();
      if (!isSearchable(trimmed)) return;
      const known = secrets.get(trimmed);
      if (known) known.files.add(where);
      else secrets.set(trimmed, { source, files: new Set([where]) });
    },
    secretsIn(text, source) {
      const credential = CREDENTIAL.exec(text);
      if (credential) collector.secret(credential[1], source);
      for (const match of text.matchAll(TOKEN_FIELD)) collector.secret(match[1], source);
    },
    event(type, payload) {
      counts.events++;
      keep(`event ${type}`, stringify(payload));
    },
    error(error) {
      counts.errors++;
      errors.push({ error, where });
      if (errors.length >= 5_000) drain(false);
    },
    output(stream, text) {
      counts.outputBytes += text.length;
      const id = `${stream}\u0000${where}`;
      const entry = outputs.get(id);
      if (entry) entry.text += text;
      else outputs.set(id, { surface: stream, text, where, file: where });
    },
    setWhere(next) {
      where = next;
    },
    knows: (value) => secrets.has(value),
    scan() {
      drain(true);
      const leaks: Leak[] = [];
      for (const { surface, text, where: at, file } of [...seen, ...outputs.values()]) {
        for (const [secret, { source, files }] of secrets) {
          if ((files.has(file) || files.has('preload')) && text.includes(secret))
            leaks.push({ secret, secretSource: source, surface, where: at });
        }
      }
      return leaks;
    },
    stats: () => ({ secrets: secrets.size, ...counts }),
  };
  return collector;
}
