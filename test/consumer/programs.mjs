// What the consumer projects run: the root README's "In ten lines" and @sluice/cyberhaven's README example, read from
// the READMEs as they stand, so a README that stops working fails here. Around each goes only what its target needs:
// the simulator behind the README's base URL, a line that prints what to check, and for CommonJS and Workers a
// function around the top-level awaits. Also generated: programs that load every entry point of every package.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'esbuild';

/** The simulator's read-only demo key: fake, valid only against @sluice/mock-server. */
export const API_KEY = 'mock_read_only_key_0123456789';

/** The first ```ts block after `heading` (or the first in the file) of a Markdown file. */
function codeBlock(file, heading) {
  const text = readFileSync(file, 'utf8');
  const from = heading ? text.indexOf(heading) : 0;
  const start = from < 0 ? -1 : text.indexOf('```ts\n', from);
  if (start < 0) throw new Error(`no \`\`\`ts block${heading ? ` after "${heading}"` : ''} in ${file}`);
  return text.slice(start + 6, text.indexOf('```', start + 6)).trim();
}

/** The README examples, with what must be printed when each runs against the simulator. */
export function examples(root) {
  return [
    {
      id: 'ten-lines',
      title: "the README's ten lines",
      code: codeBlock(join(root, 'README.md'), '## In ten lines'),
      // The README's base URL, served by the simulator in-process: the pipeline sends through the global fetch.
      // (In workerd, the Worker's outbound network is the simulator Worker instead.)
      setup: {
        imports: ["import { createMockServer } from '@sluice/mock-server';"],
        body: 'globalThis.fetch = createMockServer().fetch as typeof fetch;',
      },
      check: `const { resources } = page as { resources: unknown[] };
const stats = (await (await fetch(\`\${base}/_mock/stats\`)).json()) as { tokenExchanges: number };
console.log(\`listed \${resources.length} incidents with \${stats.tokenExchanges} token exchange\`);
await api.close();`,
      expect: [/^token for key \S+ until \d{4}-\d\d-\d\dT/m, /^listed 100 incidents with 1 token exchange$/m],
    },
    {
      id: 'preset',
      title: "the preset's README example",
      code: codeBlock(join(root, 'packages/cyberhaven/README.md')),
      expect: [/^token until \d{4}-\d\d-\d\dT/m, /^inc_003000 3$/m],
    },
  ];
}

/** Fails unless `text` holds every expected line and no key or token. */
export function checkOutput(output, expected) {
  const text = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const missing = expected.filter((line) => !line.test(text));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} in:\n${text.trim().slice(-1500)}`);
  if (text.includes(API_KEY)) throw new Error('the API key was printed');
  if (/Bearer |eyJ[\w-]{10,}/.test(text)) throw new Error('a token was printed');
}

function split(code) {
  const lines = code.split('\n');
  const first = lines.findIndex((line) => line.trim() !== '' && !line.startsWith('import '));
  return { imports: lines.slice(0, first).filter((line) => line.trim() !== ''), body: lines.slice(first).join('\n').trim() };
}

// `import { a, b as c } from 'x';` as `const { a, b: c } = require('x');`: the README imports names only.
function toRequire(line) {
  const m = line.replace(/\s*\/\/.*$/, '').match(/^import\s*\{([^}]*)\}\s*from\s*('[^']+');?$/);
  if (!m) throw new Error(`cannot turn into require(): ${line}`);
  return `const {${m[1].replace(/\s+as\s+/g, ': ')}} = require(${m[2]});`;
}

const stripTypes = async (code) => (await transform(code, { loader: 'ts', target: 'es2022' })).code;

/**
 * One example as a file for a target:
 * `esm` (.mjs), `cjs` (.cjs) run in Node; `mts`, `cts`, `ts` are type-checked (node16 ESM and CommonJS, bundler);
 * `deno` (.ts) imports through `npm:` specifiers; `worker` (.ts) exports `run(process, console)` for a Worker.
 */
export async function program(example, target) {
  const { imports, body } = split(example.code);
  const setup = target !== 'worker' && example.setup;
  let head = [...(setup ? setup.imports : []), ...imports];
  const main = [setup ? setup.body : '', body, example.check ?? ''].filter(Boolean).join('\n');
  if (target === 'deno') head = head.map((line) => line.replace(/from '([^']+)'/, "from 'npm:$1'"));
  if (target === 'cjs' || target === 'cts') {
    const wrapped = `(async () => {\n${main}\n})().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});`;
    if (target === 'cts') return `${head.join('\n')}\n\n${wrapped}\n`;
    return stripTypes(`${head.map(toRequire).join('\n')}\n\n${wrapped}\n`);
  }
  if (target === 'worker') {
    const params = 'process: { env: Record<string, string | undefined> }, console: { log(...args: unknown[]): void }';
    return `${head.join('\n')}\n\nexport default async function run(${params}) {\n${main}\n}\n`;
  }
  const source = `${head.join('\n')}\n\n${main}\n`;
  return target === 'esm' ? stripTypes(source) : source;
}

/** Every public entry point (`exports` subpath) of the packed manifests, as import specifiers. */
export function entryPoints(manifests) {
  return manifests.flatMap((pkg) =>
    Object.keys(pkg.exports ?? { '.': null })
      .filter((subpath) => !subpath.endsWith('.json'))
      .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`)),
  );
}

/** Loads every entry point with import() and require() and compares what they export (Node). */
export function entriesProgram(specifiers) {
  return `import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const specifiers = ${JSON.stringify(specifiers)};
const problems = [];
const names = (module) => Object.keys(module).filter((name) => name !== 'default' && name !== '__esModule').sort().join(', ');
for (const specifier of specifiers) {
  let esm;
  let cjs;
  try {
    esm = await import(specifier);
  } catch (error) {
    problems.push(\`import('\${specifier}'): \${error.message}\`);
  }
  try {
    cjs = require(specifier);
  } catch (error) {
    problems.push(\`require('\${specifier}'): \${error.message}\`);
  }
  if (esm && Object.keys(esm).length === 0) problems.push(\`import('\${specifier}') exports nothing\`);
  if (esm && cjs && names(esm) !== names(cjs)) problems.push(\`\${specifier}: import() gives [\${names(esm)}], require() [\${names(cjs)}]\`);
}
if (problems.length > 0) {
  console.error(problems.join('\\n'));
  process.exit(1);
}
console.log(\`\${specifiers.length} entry points load with import() and require(), with the same exports\`);
`;
}

/** Imports every entry point for the type checker, with a line that fails if the types are `any`. */
export function entriesTypes(specifiers) {
  const lines = specifiers.map((specifier, i) => `import * as entry${i} from '${specifier}';`);
  return `${lines.join('\n')}
import { compose } from '@sluice/core';

export const entries = [${specifiers.map((_, i) => `entry${i}`).join(', ')}];
// @ts-expect-error: compose() takes a list of interceptors
compose(42);
`;
}

/** The preset over real loopback HTTP: serve() from @sluice/mock-server/node, every incident through paginate(). */
export const loopbackProgram = `import { createCyberhavenClient } from '@sluice/cyberhaven';
import { serve } from '@sluice/mock-server/node';

const served = await serve({ port: 0 });
const client = createCyberhavenClient({ baseUrl: served.url, apiKey: () => process.env.CYBERHAVEN_API_KEY });
let incidents = 0;
for await (const _incident of client.paginate('/v2/incidents/list', {}, { pageSize: 1000 })) incidents++;
const { tokenExchanges } = served.mock.stats();
await client.close();
await served.close();
console.log(\`paginated \${incidents} incidents over loopback HTTP with \${tokenExchanges} token exchange\`);
`;
