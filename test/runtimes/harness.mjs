// A test registry small enough to run unchanged in Node, Deno, Bun and workerd: a name, an async function,
// a timeout. Every runtime counts with this one file, so "N passed, M failed" means the same everywhere.

export class AssertionError extends Error {
  name = 'AssertionError';
}

const show = (value) => {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
};

function isDeepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && isDeepEqual(a[k], b[k]));
}

export const assert = {
  ok(value, message) {
    if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
  },
  equal(actual, expected, message) {
    if (!Object.is(actual, expected))
      throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
  },
  deepEqual(actual, expected, message) {
    if (!isDeepEqual(actual, expected)) {
      throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(expected)}, got ${show(actual)}`);
    }
  },
  /** Awaits `promise`, asserts it rejects, checks the reason with `check` and returns it. */
  async rejects(promise, check, message) {
    let resolved = false;
    let reason;
    try {
      await promise;
      resolved = true;
    } catch (error) {
      reason = error;
    }
    if (resolved) throw new AssertionError(message ?? 'expected the promise to reject, it resolved');
    if (check && !check(reason)) throw new AssertionError(message ?? `unexpected rejection: ${describeError(reason)}`);
    return reason;
  },
};

export function describeError(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return show(error);
}

/** Races `promise` against a timer that is cleared as soon as the test settles. */
function withTimeout(promise, ms, name) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError(`timed out after ${ms} ms: ${name}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export function createRegistry() {
  const tests = [];
  const names = new Set();

  /** Registers a test. `options.timeout` in ms (default 5000). */
  function test(name, fn, options = {}) {
    if (names.has(name)) throw new Error(`duplicate test name: ${name}`);
    names.add(name);
    tests.push({ name, fn, timeout: options.timeout ?? 5000 });
  }

  async function runOne(name) {
    const entry = tests.find((t) => t.name === name);
    if (!entry) return { name, ok: false, error: 'no such test' };
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(entry.fn), entry.timeout, name);
      return { name, ok: true, ms: Date.now() - started };
    } catch (error) {
      return { name, ok: false, error: describeError(error), ms: Date.now() - started };
    }
  }

  async function runAll() {
    const results = [];
    for (const { name } of tests) results.push(await runOne(name));
    return results;
  }

  return { test, runOne, runAll, list: () => tests.map((t) => t.name) };
}

/** The lines every runtime prints: one per failure, then `N passed, M failed`. */
export function summarize(results) {
  const failed = results.filter((r) => !r.ok);
  const lines = failed.map((r) => `  ✗ ${r.name}\n      ${r.error}`);
  lines.push(`${results.length - failed.length} passed, ${failed.length} failed`);
  return lines.join('\n');
}
