// The checks run in the consumer projects: the README examples in Node (ESM and CommonJS), Deno and workerd, every
// entry point loaded both ways, the bins, and the type checker under node16 and bundler resolution. Each check writes
// the files it runs into its project, then runs them as a user would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryOf } from '../runtimes/binaries.mjs';
import { bundle, COMPATIBILITY_DATE, serve } from '../runtimes/launch-workerd.mjs';
import { API_KEY, checkOutput, entriesProgram, entriesTypes, examples, loopbackProgram, program } from './programs.mjs';
import { cleanEnv, exec } from './projects.mjs';

const env = () => cleanEnv({ CYBERHAVEN_API_KEY: API_KEY });

async function runNode(dir, file, expected) {
  const { code, stdout, stderr } = await exec(process.execPath, [file], { cwd: dir, env: env() });
  if (code !== 0) throw new Error(`node ${file} exited ${code}\n${(stderr || stdout).trim().slice(-2000)}`);
  checkOutput(stdout + stderr, expected);
}

function nodeChecks(project, root) {
  const checks = [];
  for (const example of examples(root)) {
    for (const [target, label] of [
      ['esm', 'ESM'],
      ['cjs', 'CommonJS'],
    ]) {
      checks.push({
        name: `${project.label}, ${label}: ${example.title} runs against the simulator`,
        project,
        async run(dir) {
          const file = `${example.id}.${target === 'esm' ? 'mjs' : 'cjs'}`;
          writeFileSync(join(dir, file), await program(example, target));
          await runNode(dir, file, example.expect);
        },
      });
    }
  }
  checks.push({
    name: `${project.label}: every entry point of every package loads with import() and require(), with the same exports`,
    project,
    async run(dir, { specifiers }) {
      writeFileSync(join(dir, 'entries.mjs'), entriesProgram(specifiers));
      await runNode(dir, 'entries.mjs', [/entry points load/]);
    },
  });
  return checks;
}

// Errors in third-party declaration files are the dependency's (ofetch's types import undici, which it does not
// depend on); they are shown, and fail nothing. Errors in the consumer's files or in @sluice/* types fail.
function typeErrors(output) {
  const errors = output.split('\n').filter((line) => /error TS\d+:/.test(line));
  const owner = (line) => line.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
  const ours = errors.filter((line) => !owner(line) || owner(line).startsWith('@sluice/'));
  return { ours, theirs: errors.length - ours.length };
}

function typeCheck(project, mode, root) {
  const node16 = mode === 'node16';
  return {
    name: `${project.label}, TypeScript (moduleResolution ${mode}${node16 ? ', ESM and CommonJS files, no DOM lib' : ''}): both README examples and every entry point type-check`,
    project,
    async run(dir, { specifiers }) {
      const files = [];
      const write = async (file, text) => {
        writeFileSync(join(dir, file), await text);
        files.push(file);
      };
      for (const example of examples(root)) {
        if (node16) {
          await write(`${example.id}.mts`, program(example, 'mts'));
          await write(`${example.id}.cts`, program(example, 'cts'));
        } else await write(`${example.id}.ts`, program(example, 'ts'));
      }
      if (node16) {
        await write('entries.mts', entriesTypes(specifiers));
        await write('entries.cts', entriesTypes(specifiers));
      } else await write('entries.ts', entriesTypes(specifiers));
      const compilerOptions = {
        strict: true,
        noEmit: true,
        // Our declaration files are checked as a user's compiler meets them; TypeScript's own lib files are not ours.
        skipLibCheck: false,
        skipDefaultLibCheck: true,
        target: 'es2022',
        types: ['node'],
        ...(node16
          ? { module: 'node16', moduleResolution: 'node16', lib: ['es2022'] }
          : { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom', 'dom.iterable'] }),
      };
      const config = `tsconfig.${mode}.json`;
      writeFileSync(join(dir, config), JSON.stringify({ compilerOptions, files }, null, 2));
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      const { code, stdout, stderr } = await exec(process.execPath, [tsc, '-p', config], { cwd: dir, timeoutMs: 120_000 });
      const { ours, theirs } = typeErrors(stdout + stderr);
      if (ours.length > 0 || (code !== 0 && theirs === 0))
        throw new Error(`tsc -p ${config} exited ${code}\n${(ours.join('\n') || stdout + stderr).slice(-2500)}`);
      if (theirs > 0) return `${theirs} error(s) inside third-party declaration files, not ours`;
    },
  };
}

function binChecks(project) {
  return {
    name: `${project.label}: the bins sluice and sluice-mock start and print their usage`,
    project,
    async run(dir) {
      for (const bin of ['sluice', 'sluice-mock']) {
        const { code, stdout, stderr } = await exec(join(dir, 'node_modules/.bin', bin), ['--help'], { cwd: dir });
        if (code !== 0 || !stdout.includes(`Usage: ${bin}`))
          throw new Error(`${bin} --help exited ${code}\n${(stderr || stdout).slice(-1000)}`);
      }
    },
  };
}

function loopbackCheck(project) {
  return {
    name: `${project.label}, ESM: the preset pages through every incident of serve() from @sluice/mock-server/node over loopback HTTP`,
    project,
    async run(dir) {
      writeFileSync(join(dir, 'loopback.mjs'), loopbackProgram);
      await runNode(dir, 'loopback.mjs', [/^paginated 3000 incidents over loopback HTTP with 1 token exchange$/m]);
    },
  };
}

function denoChecks(project, root) {
  const denoEnv = () => cleanEnv({ CYBERHAVEN_API_KEY: API_KEY, DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(project.dir, '..', 'deno-dir') });
  // Deno's own npm resolution needs the registry, where these versions are not; with --node-modules-dir=manual it
  // resolves `npm:` specifiers from the node_modules npm installed. Read access to the project and one variable only.
  const flags = (dir) => ['--node-modules-dir=manual', '--no-lock', '--no-prompt', `--allow-read=${dir}`, '--allow-env=CYBERHAVEN_API_KEY'];
  const checks = examples(root).map((example) => ({
    name: `${project.label}, Deno: ${example.title} runs through npm: specifiers`,
    project,
    async run(dir) {
      const file = `${example.id}.deno.ts`;
      writeFileSync(join(dir, file), await program(example, 'deno'));
      const { code, stdout, stderr } = await exec(binaryOf('deno'), ['run', ...flags(dir), file], { cwd: dir, env: denoEnv() });
      if (code !== 0) throw new Error(`deno run exited ${code}\n${(stderr || stdout).trim().slice(-2000)}`);
      checkOutput(stdout + stderr, example.expect);
    },
  }));
  checks.push({
    name: `${project.label}, Deno: both README examples type-check (deno check)`,
    project,
    async run(dir) {
      const files = [];
      for (const example of examples(root)) {
        files.push(`${example.id}.check.deno.ts`);
        writeFileSync(join(dir, files.at(-1)), await program(example, 'deno'));
      }
      const { code, stdout, stderr } = await exec(binaryOf('deno'), ['check', '--node-modules-dir=manual', '--no-lock', ...files], {
        cwd: dir,
        env: denoEnv(),
        timeoutMs: 120_000,
      });
      if (code !== 0) throw new Error(`deno check exited ${code}\n${(stderr || stdout).trim().slice(-2000)}`);
    },
  });
  return checks;
}

// A Worker that runs each example in a request (GET /<id>), and the simulator as a second Worker that is the first
// one's outbound network: the README's https://acme.cyberhaven.io reaches it through the global fetch.
const WORKER_ENTRY = `import preset from './preset.worker.ts';
import tenLines from './ten-lines.worker.ts';

const programs = { 'ten-lines': tenLines, preset };

export default {
  async fetch(request, env) {
    const run = programs[new URL(request.url).pathname.slice(1)];
    if (!run) return new Response('no such program', { status: 404 });
    const lines = [];
    const console = { log: (...args) => lines.push(args.map(String).join(' ')) };
    try {
      await run({ env }, console);
      return Response.json({ ok: true, output: lines.join('\\n') });
    } catch (error) {
      return Response.json({ ok: false, output: lines.join('\\n'), error: String(error?.stack ?? error) });
    }
  },
};
`;

const SIMULATOR_WORKER = `import { createMockServer } from '@sluice/mock-server';

const simulator = createMockServer();
export default { fetch: (request) => simulator.handler(request) };
`;

const workerdConfig = () => `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "programs", worker = .programs), (name = "simulator", worker = .simulator) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "programs") ],
);

const programs :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ (name = "CYBERHAVEN_API_KEY", text = ${JSON.stringify(API_KEY)}) ],
  globalOutbound = "simulator",
);

const simulator :Workerd.Worker = (
  modules = [ (name = "simulator.js", esModule = embed "simulator.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;

// One workerd for both examples, started by whichever check comes first.
function workerdChecks(project, root) {
  let started;
  const start = async (dir) => {
    for (const example of examples(root)) writeFileSync(join(dir, `${example.id}.worker.ts`), await program(example, 'worker'));
    writeFileSync(join(dir, 'worker.mjs'), WORKER_ENTRY);
    writeFileSync(join(dir, 'simulator.mjs'), SIMULATOR_WORKER);
    // Bundled as test/runtimes bundles its Workers (esbuild, conditions workerd/worker/import), from the project.
    const paths = { root: dir, tmp: dir, here: dir };
    await bundle(paths, 'worker.mjs', 'worker.js');
    await bundle(paths, 'simulator.mjs', 'simulator.js');
    writeFileSync(join(dir, 'workerd.capnp'), workerdConfig());
    return serve(binaryOf('workerd'), join(dir, 'workerd.capnp'), dir);
  };
  const checks = examples(root).map((example) => ({
    name: `${project.label}, workerd: ${example.title} runs in a bundled Worker`,
    project,
    async run(dir) {
      started ??= start(dir);
      const server = await started;
      const response = await fetch(`http://127.0.0.1:${server.port}/${example.id}`, { signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      let result;
      try {
        result = JSON.parse(text);
      } catch {
        throw new Error(`answered ${response.status}: ${text.slice(0, 500)}\n${server.log().slice(-1000)}`);
      }
      if (!result.ok) throw new Error(`${result.error}\n${result.output}`);
      checkOutput(result.output, example.expect);
    },
  }));
  const stop = async () => (await started?.catch(() => undefined))?.stop();
  return { checks, stop };
}

/** Every check, by project; `stop()` ends what the checks left running (workerd). */
export function allChecks({ npm, pnpm }, root) {
  const workerd = workerdChecks(npm, root);
  const checks = [
    ...nodeChecks(npm, root),
    loopbackCheck(npm),
    binChecks(npm),
    typeCheck(npm, 'node16', root),
    typeCheck(npm, 'bundler', root),
    ...denoChecks(npm, root),
    ...workerd.checks,
    ...nodeChecks(pnpm, root),
    typeCheck(pnpm, 'node16', root),
  ];
  return { checks, stop: workerd.stop };
}
