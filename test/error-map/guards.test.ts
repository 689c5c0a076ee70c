import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSluiceError } from '@sluice/core';
import { createFakeTransport } from '@sluice/core/testing';
import * as errorMapSource from '@sluice/error-map';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { caught } from './helpers.js';

type ErrorMapModule = typeof errorMapSource;
// The copy tests import through the tsconfig path, i.e. the TypeScript source.
const source: ErrorMapModule = { ...errorMapSource };
const GUARDS = [
  'isHttpError',
  'isAuthenticationError',
  'isPermissionError',
  'isRateLimitError',
  'isNotFoundError',
  'isClientError',
  'isServerError',
  'isNetworkError',
  'isTimeoutError',
] as const;

// Which guards hold for the error of each status (or failure); every other guard must say no.
const expected: Array<[number | 'network', ReadonlyArray<(typeof GUARDS)[number]>]> = [
  [400, ['isHttpError', 'isClientError']],
  [401, ['isHttpError', 'isAuthenticationError']],
  [403, ['isHttpError', 'isPermissionError']],
  [404, ['isHttpError', 'isNotFoundError']],
  [429, ['isHttpError', 'isRateLimitError']],
  [500, ['isHttpError', 'isServerError']],
  ['network', ['isNetworkError']],
];

async function errorFrom(mod: ErrorMapModule, compose: typeof import('@sluice/core').compose, what: number | 'network') {
  const transport = createFakeTransport().fallback(() =>
    what === 'network' ? new TypeError('fetch failed') : new Response('', { status: what }),
  );
  return caught(compose([mod.errorMap()], { fetch: transport.fetch })('https://api.example/v2/items'));
}

for (const [what, holds] of expected) {
  test(`for ${what === 'network' ? 'a network failure' : `a ${what}`}, exactly its guards hold`, async () => {
    const error = await errorFrom(source, (await import('@sluice/core')).compose, what);
    for (const guard of GUARDS) assert.is(source[guard](error), holds.includes(guard), guard);
  });
}

test('guards say no to plain errors, look-alikes and non-errors', () => {
  const lookAlike = Object.assign(new Error('429'), { name: 'RateLimitError', code: 'ERR_SLUICE_RATE_LIMITED', status: 429 });
  for (const value of [new Error('x'), lookAlike, { code: 'ERR_SLUICE_RATE_LIMITED' }, null, undefined, 'RateLimitError', 429]) {
    for (const guard of GUARDS) assert.not.ok(source[guard](value), `${guard}(${String(value)})`);
  }
});

// The two published builds, loaded side by side as a mixed ESM/CJS app would: two copies of error-map and of core.
const root = resolve(import.meta.dirname, '../..');
const dist = (pkg: string, file: string) => join(root, 'packages', pkg, 'dist', file);

function staleBuild(): string | undefined {
  for (const pkg of ['core', 'error-map']) {
    const built = dist(pkg, 'index.cjs');
    if (!existsSync(built) || !existsSync(dist(pkg, 'index.mjs'))) return `${pkg} is not built`;
    const builtAt = statSync(built).mtimeMs;
    const walk = (dir: string): string | undefined => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          const found = walk(path);
          if (found) return found;
        } else if (statSync(path).mtimeMs > builtAt) return path;
      }
      return undefined;
    };
    const newer = walk(join(root, 'packages', pkg, 'src'));
    if (newer) return `${newer} is newer than the build`;
  }
  return undefined;
}

let built = false;

// test/all.mjs builds before the suites run; run alone, this suite builds the two packages itself when their
// sources are newer than dist.
async function loadCopies() {
  if (!built && staleBuild()) {
    execFileSync(join(root, 'node_modules/.bin/rollup'), ['-c', '--silent'], {
      cwd: root,
      env: { ...process.env, SLUICE_PACKAGES: 'core,error-map' },
      stdio: 'inherit',
    });
  }
  built = true;
  const problem = staleBuild();
  if (problem) assert.unreachable(`${problem}: run \`SLUICE_PACKAGES=core,error-map npx -y pnpm@12.4.2 build\``);
  const requireFromPackage = createRequire(dist('error-map', 'index.cjs'));
  const cjs = requireFromPackage(dist('error-map', 'index.cjs')) as ErrorMapModule;
  const cjsCore = requireFromPackage('@sluice/core') as typeof import('@sluice/core');
  const esm = (await import(pathToFileURL(dist('error-map', 'index.mjs')).href)) as ErrorMapModule;
  const esmCore = (await import(pathToFileURL(dist('core', 'index.mjs')).href)) as typeof import('@sluice/core');
  return { cjs, cjsCore, esm, esmCore };
}

test('the ESM and CJS builds are really two copies: instanceof fails across them', async () => {
  const { cjs, cjsCore, esm } = await loadCopies();
  assert.is.not(cjs.RateLimitError, esm.RateLimitError);
  const fromCjs = await errorFrom(cjs, cjsCore.compose, 429);
  assert.instance(fromCjs, cjs.RateLimitError);
  assert.not.ok(fromCjs instanceof esm.RateLimitError);
  assert.not.ok(fromCjs instanceof source.RateLimitError);
});

for (const [what, holds] of expected) {
  test(`an error from the CJS copy for ${what} passes the ESM and source guards, and the reverse`, async () => {
    const { cjs, cjsCore, esm, esmCore } = await loadCopies();
    const fromCjs = await errorFrom(cjs, cjsCore.compose, what);
    const fromEsm = await errorFrom(esm, esmCore.compose, what);
    for (const guard of GUARDS) {
      assert.is(esm[guard](fromCjs), holds.includes(guard), `esm.${guard}(cjs error)`);
      assert.is(source[guard](fromCjs), holds.includes(guard), `source.${guard}(cjs error)`);
      assert.is(cjs[guard](fromEsm), holds.includes(guard), `cjs.${guard}(esm error)`);
    }
    assert.ok(isSluiceError(fromCjs) && isSluiceError(fromEsm));
    assert.ok(esmCore.hasCode(fromCjs, (fromCjs as { code: string }).code));
  });
}

test('fields survive across copies: what the CJS copy threw reads the same from ESM code', async () => {
  const { cjs, cjsCore, esm } = await loadCopies();
  const transport = createFakeTransport().fallback(
    () => new Response('{"e":1}', { status: 429, headers: { 'retry-after': '7', 'x-request-id': 'r1' } }),
  );
  const error = await caught(cjsCore.compose([cjs.errorMap()], { fetch: transport.fetch })('https://api.example/v2/items?q=1'));
  assert.ok(esm.isRateLimitError(error));
  if (!esm.isRateLimitError(error)) return;
  assert.is(error.retryAfterMs, 7000);
  assert.is(error.requestId, 'r1');
  assert.is(error.url, 'https://api.example/v2/items');
  assert.equal(error.body, { e: 1 });
});

test.run();
