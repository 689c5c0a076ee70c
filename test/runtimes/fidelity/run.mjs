// The fidelity step of run.mjs: starts the recording server in this process, then runs the fidelity suite in the
// machine's Node, Node 24, Deno (network to 127.0.0.1 only) and Bun, one after another. Results are named by runtime.
import { join } from 'node:path';
import { binaryOf, root, runProcess, versionOf } from '../binaries.mjs';
import { startRecorder } from './server.mjs';

const here = import.meta.dirname;
const TIMEOUT_MS = 300_000;

const runtimes = {
  node: (entry) => [entry],
  node24: (entry) => [entry],
  deno: (entry) => ['run', '--no-lock', '--no-prompt', `--allow-read=${root}`, '--allow-net=127.0.0.1', entry],
  bun: (entry) => [entry],
};

/** Runs the suite in each runtime; resolves to results as the conformance suite reports them. */
export async function runFidelity({ filter, only } = {}) {
  const recorder = await startRecorder();
  const results = [];
  try {
    for (const [name, args] of Object.entries(runtimes)) {
      if (only && !only.includes(name)) continue;
      let label = name;
      try {
        const binary = binaryOf(name);
        label = `${name} ${await versionOf(binary)}`;
        const argv = [...args(join(here, 'entry.mjs')), recorder.base, String(recorder.closedPort), ...(filter ? [filter] : [])];
        const { code, stdout, stderr } = await runProcess(binary, argv, TIMEOUT_MS);
        const line = stdout.split('\n').find((l) => l.startsWith('SLUICE_RESULT '));
        if (!line) throw new Error(`exited ${code} without reporting results\n${(stderr || stdout).trim().slice(-2000)}`);
        for (const result of JSON.parse(line.slice('SLUICE_RESULT '.length)).results)
          results.push({ ...result, name: `${label}: ${result.name}` });
      } catch (error) {
        results.push({ name: `${label}: the fidelity suite starts and reports results`, ok: false, error: error.message });
      }
    }
  } finally {
    await recorder.close();
  }
  return results;
}
