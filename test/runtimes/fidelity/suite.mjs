// The drop-in fidelity suite: every shape of shapes.mjs goes once through the platform's fetch and once through the full
// pipeline configured to be transparent, against the recording server (server.mjs); all that either side can observe
// must match, except what an interceptor is documented to do (packages/core/README.md, "What differs from fetch").
// Then the documented differences themselves, and three pipelines that bring back the deviations of issue 21, which
// the comparison must catch.
import { AssertionError } from '../harness.mjs';
import { needs } from '../suite/util.mjs';
import { differences, observe } from './observe.mjs';
import { shapes } from './shapes.mjs';

const KEY = 'fidelity_key_0123456789';
/** A limiter in the chain that never holds a call back. */
const NON_BINDING = { rules: [{ limit: Number.POSITIVE_INFINITY, windowMs: 60_000 }], concurrency: Number.POSITIVE_INFINITY };

/**
 * The full pipeline, transparent: error-map keeps error responses, retry-429 retries 429s only (fetch retries
 * nothing; a 503 or a network error is not retried), auth-token holds a key for another origin, the limiter never binds.
 * `auth` replaces auth-token's options; `before` adds interceptors in front.
 */
export function transparent(modules, { auth, before = [] } = {}) {
  const { core, errorMap, retry429, authToken, rateLimit } = needs(modules, 'core', 'errorMap', 'retry429', 'authToken', 'rateLimit');
  return core.compose([
    ...before,
    errorMap.errorMap({ keepResponse: true }),
    retry429.retry429({ retry503: false, retryNetworkErrors: false }),
    authToken.authToken(auth ?? { baseUrl: 'https://api.elsewhere.example', apiKey: KEY }),
    rateLimit.rateLimit(NON_BINDING),
  ]);
}

/** error-map's documented difference: a transport failure (a TypeError) reaches the caller as NetworkError, with it as cause. */
function unmapped(seen) {
  if (seen.error?.name !== 'NetworkError') return seen;
  if (seen.error.code !== 'ERR_SLUICE_NETWORK' || seen.error.cause?.name !== 'TypeError')
    throw new AssertionError('NetworkError without its TypeError');
  return { ...seen, error: seen.error.cause };
}

/** Runs `shape` through fetch and through `pipeline()`; the differences, after `adjust` took out documented ones. */
export async function compare(shape, pipeline, where, adjust = (fetchSide, sluiceSide) => [fetchSide, sluiceSide]) {
  const viaFetch = await observe((...args) => fetch(...args), shape, { ...where, side: 'fetch' });
  const api = pipeline();
  try {
    const viaSluice = unmapped(await observe(api, shape, { ...where, side: 'sluice' }));
    const [a, b] = adjust(viaFetch, viaSluice);
    return differences(a, b);
  } finally {
    await api.close();
  }
}

/**
 * What a runtime does differently through sluice, not sluice by choice: both are listed in packages/core/README.md
 * ("What differs from fetch"). Bun's Request constructor copies the body of the Request it is given and leaves that one
 * unused, where Bun's fetch uses it up: a caller's Request that sluice must copy (given with init, or given to
 * auth-token) keeps `bodyUsed` false. A caller's Request with a stream body is read along through the platform's tee
 * (a copy for a replay): when Deno or Bun cancel it, the caller's stream hears both branches' reasons.
 */
const RUNTIME_DIFFERENCES = [
  {
    runtimes: ['bun'],
    shapes: [
      "a caller's Request with a string body and headers in init",
      "a caller's Request with a stream body and a method in init",
      "auth: a caller's Request with a stream body",
      "auth: a caller's Request with a string body",
    ],
    line: /^callerRequest\.bodyUsed: true → false$/,
  },
  {
    runtimes: ['deno', 'bun'],
    shapes: ["an abort during a streamed upload, through the caller's Request signal"],
    line: /^stream\.1: "cancelled: (.*)" → "cancelled: \[\1, undefined\]"$/,
  },
];

/** Fails on every difference but the documented ones of this runtime, which must still be there. */
const failUnlessDocumented = (diff, shapeName, runtime) => {
  const rules = RUNTIME_DIFFERENCES.filter((r) => r.runtimes.includes(runtime) && r.shapes.includes(shapeName));
  for (const rule of rules) {
    if (!diff.some((line) => rule.line.test(line))) throw new AssertionError(`${runtime} no longer differs as documented: ${rule.line}`);
  }
  fail(diff.filter((line) => !rules.some((rule) => rule.line.test(line))));
};

const fail = (diff) => {
  if (diff.length > 0) throw new AssertionError(`fetch → sluice differ:\n        ${diff.join('\n        ')}`);
};

/** Takes the Authorization header auth-token adds out of the server's records, checking it is there. */
const withoutToken = (fetchSide, sluiceSide) => {
  const server = sluiceSide.server.map((record) => {
    const token = record.headers.find(([name]) => name.toLowerCase() === 'authorization');
    if (!/^Bearer tok-\d+$/.test(token?.[1] ?? '')) throw new AssertionError(`no token on ${record.method} ${record.url}`);
    return { ...record, headers: record.headers.filter((header) => header !== token) };
  });
  return [fetchSide, { ...sluiceSide, server }];
};

export function fidelityTests({ test, assert, modules, where, env }) {
  const options = { timeout: 20_000 };
  for (const shape of shapes) {
    test(
      `fidelity: ${shape.name}`,
      async () => failUnlessDocumented(await compare(shape, () => transparent(modules), where), shape.name, env.runtime),
      options,
    );
  }

  // auth-token for the server's own origin: the header it adds is the only difference, streams included.
  const auth = () => transparent(modules, { auth: { baseUrl: where.server, tokenUrl: `${where.server}/token`, apiKey: KEY } });
  for (const name of [
    'a string body',
    'a ReadableStream body with duplex half',
    "a caller's Request with a stream body",
    "a caller's Request with a string body",
    "a caller's GET Request",
    'an abort during a streamed upload (an Error of its own)',
  ]) {
    const shape = shapes.find((s) => s.name === name);
    test(
      `fidelity, auth-token for this origin: ${name} differs only by its Authorization header`,
      async () => {
        failUnlessDocumented(await compare(shape, auth, where, withoutToken), `auth: ${name}`, env.runtime);
      },
      options,
    );
  }

  // The documented differences: a 429 retried, a 401 replayed with a new token. The replay carries the same bytes.
  const replayed = (route, body) => ({ name: `${route} once`, make: (c) => ({ input: c.url(route), init: body(c) }) });
  const documentedReplay = (what, route, pipeline, body) =>
    test(
      `fidelity, documented: ${what}`,
      async () => {
        const shape = replayed(route, body);
        const viaFetch = await observe((...args) => fetch(...args), shape, { ...where, side: 'fetch' });
        const api = pipeline();
        try {
          const viaSluice = await observe(api, shape, { ...where, side: 'sluice' });
          assert.equal(viaFetch.response.status, Number(route.split('/')[1]), 'fetch sees the refusal');
          assert.equal(viaSluice.response.status, 200, 'the pipeline answers with the replay');
          assert.equal(viaSluice.server.length, 2, 'the server got the request twice');
          const [first, again] = viaSluice.server;
          assert.equal(again.body, first.body, 'the replay carries the same bytes');
          assert.equal(first.body, viaFetch.server[0].body, 'the first send carries what fetch sent');
          assert.deepEqual(viaSluice.stream, viaFetch.stream, 'the caller streamed the same way');
        } finally {
          await api.close();
        }
      },
      options,
    );
  documentedReplay(
    'a 429 is retried with the same string body',
    'once/429',
    () => transparent(modules),
    () => ({ method: 'POST', body: 'same' }),
  );
  documentedReplay(
    'a 429 is retried with the same streamed body',
    'once/429',
    () => transparent(modules),
    (c) => ({
      method: 'POST',
      body: c.stream(),
      duplex: 'half',
    }),
  );
  documentedReplay('a 401 is replayed with a new token and the same streamed body', 'once/401', auth, (c) => ({
    method: 'POST',
    body: c.stream(),
    duplex: 'half',
  }));

  // The deviations of issue 21, brought back: the comparison must catch each.
  const regressed = (name, interceptor) => () => transparent(modules, { before: [{ name, handle: interceptor }] });
  const catches = (what, shapeName, pipeline, expected) =>
    test(
      `fidelity catches ${what}`,
      async () => {
        const diff = await compare(
          shapes.find((s) => s.name === shapeName),
          pipeline,
          where,
        );
        assert.ok(
          diff.some((line) => expected.test(line)),
          `expected a difference matching ${expected}, got:\n        ${diff.join('\n        ') || '(none)'}`,
        );
      },
      options,
    );
  catches(
    'a pipeline that reads a stream body to its end before sending it',
    'a ReadableStream body with duplex half',
    regressed('buffers-streams', async (request, next, ctx) =>
      next(ctx.streamBody ? new Request(request, { body: await request.arrayBuffer() }) : request),
    ),
    /^stream\.0: .*true" → .*false"$/,
  );
  catches(
    "a pipeline that sends a clone of the caller's Request",
    "a caller's Request with a string body",
    regressed('clones-callers', (request, next, ctx) => next(request === ctx.callerRequest ? request.clone() : request)),
    /^callerRequest\.bodyUsed: true → false$/,
  );
  catches(
    "a pipeline that clones the caller's Request before looking at it",
    "a caller's Request whose body was read",
    () => {
      const api = transparent(modules);
      return Object.assign((input, init) => api(input instanceof Request && init === undefined ? input.clone() : input, init), {
        close: api.close,
      });
    },
    /^error\.message: /,
  );
}
