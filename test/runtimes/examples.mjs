// Runs the examples in the runtimes they are written for, on the built packages, and checks what they promise:
// the Node client examples (native fetch, ofetch, ky, axios, openapi-fetch) on Node 24 (its type stripping runs
// main.ts as is), examples/deno in Deno, examples/bun in Bun, examples/cloudflare-worker in workerd against the
// simulator served on loopback. The Node examples run on the machine's Node in the unit suite (test/examples).
// Each check is a result as the conformance suite reports them; a runtime that is missing fails its checks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { binaryOf, root, runProcess, tmp } from './binaries.mjs';
import { bundle, COMPATIBILITY_DATE, serve } from './launch-workerd.mjs';

const here = import.meta.dirname;
const SCRIPT_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

const loadMock = async (entry) => import(pathToFileURL(join(root, 'packages/mock-server/dist', entry)).href);

/** What every client example prints, in order (test/examples/clients.ts checks the same on the machine's Node). */
const EXPECTED = [
  /^listed 3 incidents: inc_\d+, inc_\d+, inc_\d+$/m,
  /^429 on GET \/v2\/event-details: retry in \d+ ms$/m,
  /^event details: 3 events after the 429 was absorbed$/m,
  /^403 caught: PermissionError \(403 insufficient permissions: GET http:\/\/127\.0\.0\.1:\d+\/v2\/admin\/api-keys\)$/m,
  /^done: 1 token exchange, 5 requests, 1 answered 429, none reached the caller$/m,
];

/** Fails unless `text` holds none of the simulator's keys and no token. */
async function assertNoSecrets(text) {
  const { demoKeys } = await loadMock('index.mjs');
  for (const { key } of demoKeys) if (text.includes(key)) throw new Error('an API key was printed');
  if (/Bearer|eyJ/.test(text)) throw new Error('a token was printed');
}

function script(runtime, example, file, args = (path) => [path]) {
  return {
    name: `${runtime}: examples/${example} exchanges one token, has an injected 429 absorbed and catches the 403 with its guard`,
    async run() {
      const binary = binaryOf(runtime);
      const { code, stdout, stderr } = await runProcess(binary, args(join(root, 'examples', example, file)), SCRIPT_TIMEOUT_MS);
      if (code !== 0) throw new Error(`exited ${code}\n${(stderr || stdout).trim().slice(-1500)}`);
      const missing = EXPECTED.filter((line) => !line.test(stdout));
      if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} in:\n${stdout.trim().slice(-1500)}`);
      await assertNoSecrets(stdout + stderr);
    },
  };
}

const scripts = [
  ...['native-fetch', 'ofetch', 'ky', 'axios', 'openapi-fetch'].map((example) => script('node24', example, 'main.ts')),
  script('deno', 'deno', 'main.ts', (path) => ['run', '--no-lock', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${root}`, path]),
  script('bun', 'bun', 'main.ts'),
];

// The example Worker as deployed, with its bindings, and an outbound network that reaches loopback (where the
// simulator listens) instead of the public internet only.
function workerConfig(baseUrl, apiKey) {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "example", worker = .example), (name = "loopback", network = (allow = ["local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "example") ],
);

const example :Workerd.Worker = (
  modules = [ (name = "example-worker.js", esModule = embed "example-worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "API_BASE_URL", text = ${JSON.stringify(baseUrl)}), (name = "API_KEY", text = ${JSON.stringify(apiKey)}) ],
  globalOutbound = "loopback",
);
`;
}

const WORKER = 'workerd: examples/cloudflare-worker';
const workerChecks = [
  {
    name: `${WORKER} builds its pipeline on the first request and shares one token exchange between concurrent requests`,
    async run({ get, served }) {
      const answers = await Promise.all([1, 2, 3].map(() => get('/incidents')));
      for (const { status, body } of answers) {
        if (status !== 200 || body.incidents?.length !== 3 || body.events !== 3)
          throw new Error(`answered ${status} ${JSON.stringify(body)}`);
      }
      const { tokenExchanges } = served.mock.stats();
      if (tokenExchanges !== 1) throw new Error(`${tokenExchanges} token exchanges`);
    },
  },
  {
    name: `${WORKER} absorbs an injected 429 within the request it serves`,
    async run({ get, served }) {
      const before = served.mock.stats();
      served.mock.startStorm(500);
      const { status, body } = await get('/incidents');
      const after = served.mock.stats();
      if (status !== 200) throw new Error(`answered ${status} ${JSON.stringify(body)}`);
      if (after.rateLimited - before.rateLimited !== 1) throw new Error(`${after.rateLimited - before.rateLimited} answered 429`);
      if (after.tokenExchanges !== before.tokenExchanges) throw new Error('the token was exchanged again');
    },
  },
  {
    name: `${WORKER} answers the 403 it caught with isPermissionError`,
    async run({ get }) {
      const { status, body } = await get('/api-keys');
      if (status !== 403 || body.error !== 'PermissionError') throw new Error(`answered ${status} ${JSON.stringify(body)}`);
    },
  },
  {
    name: `${WORKER} never answers or logs a key or a token`,
    async run({ seen, log }) {
      await assertNoSecrets(seen.join('\n') + log());
    },
  },
];

async function runWorkerChecks(checks) {
  if (checks.length === 0) return [];
  let served;
  let workerd;
  try {
    const binary = binaryOf('workerd');
    const { serve: serveMock } = await loadMock('node.mjs');
    const { demoKeys } = await loadMock('index.mjs');
    served = await serveMock({ port: 0 });
    await bundle({ root, tmp, here }, join(root, 'examples/cloudflare-worker/src/index.ts'), 'example-worker.js');
    const configFile = join(tmp, 'example-worker.capnp');
    writeFileSync(configFile, workerConfig(served.url, demoKeys.find((k) => k.role === 'read-only').key));
    workerd = await serve(binary, configFile, tmp);
  } catch (error) {
    await served?.close();
    return checks.map(({ name }) => ({ name, ok: false, error: `could not start: ${error.message}` }));
  }
  const seen = [];
  const get = async (path) => {
    const response = await fetch(`http://127.0.0.1:${workerd.port}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    seen.push(text);
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  };
  try {
    return await runChecks(checks, { get, served, seen, log: workerd.log }, () => workerd.log().trim().slice(-1000));
  } finally {
    workerd.stop();
    await served.close();
  }
}

async function runChecks(checks, context, extra = () => '') {
  const results = [];
  for (const { name, run } of checks) {
    const started = Date.now();
    try {
      await run(context);
      results.push({ name, ok: true, ms: Date.now() - started });
    } catch (error) {
      const more = extra();
      results.push({ name, ok: false, error: `${error.message}${more ? `\n${more}` : ''}`, ms: Date.now() - started });
    }
  }
  return results;
}

/** Runs every example check whose name contains `filter`; resolves the results. Build first. */
export async function runExamples({ filter } = {}) {
  const selected = (checks) => checks.filter(({ name }) => !filter || name.includes(filter));
  return [...(await runChecks(selected(scripts), {})), ...(await runWorkerChecks(selected(workerChecks)))];
}
