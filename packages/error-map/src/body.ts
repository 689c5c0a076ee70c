// Error bodies are server-controlled and may echo what they were sent. Bearer and basic credentials, JWTs,
// values under secret-sounding keys, and `key=value` / `"key": "value"` pairs with such keys in text are replaced.
// Every pattern starts only where a word starts (the lookbehinds), so a hostile 64 KiB body costs linear time.
const SECRET_KEY = /token|secret|passw|api[-_]?key|authori[sz]ation|credential|cookie|session|signature/i;
const CREDENTIAL = /\b(?:bearer|basic)\s+[\w.~+/=-]+|(?<![\w-])eyJ[\w-]*\.[\w-]*\.[\w-]*/gi;
const PAIR = /(?<![\w-])([\w-]+)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/g;
const REDACTED = '[redacted]';

export function scrub(text: string): string {
  return text
    .replace(CREDENTIAL, REDACTED)
    .replace(PAIR, (pair, key: string, separator: string) => (SECRET_KEY.test(key) ? key + separator + REDACTED : pair));
}

/** For `JSON.parse`: every value under a secret-sounding key is replaced, every string scrubbed, at any depth. */
const scrubJson = (key: string, value: unknown) => (SECRET_KEY.test(key) ? REDACTED : typeof value === 'string' ? scrub(value) : value);

/**
 * Reads at most `maxBytes` of the body, then cancels the rest; JSON when it parses, else text; undefined when
 * empty. Either way scrubbed.
 */
export async function readBody(response: Response, maxBytes: number): Promise<unknown> {
  if (!response.body) return undefined;
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  // Past the cap the sink fails, which makes pipeTo cancel the rest of the body. A body that breaks off
  // mid-way fails the pipe too; what arrived still tells something, but only a whole body is parsed.
  const sink = new WritableStream<Uint8Array<ArrayBuffer>>({
    write(chunk, controller) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > maxBytes) controller.error();
    },
  });
  const whole = await response.body.pipeTo(sink).then(
    () => true,
    () => false,
  );
  const text = await new Blob(chunks).slice(0, maxBytes).text();
  if (whole) {
    try {
      return JSON.parse(text, scrubJson);
    } catch {
      // Not JSON: keep the text.
    }
  }
  return scrub(text) || undefined;
}
