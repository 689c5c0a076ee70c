#!/usr/bin/env node
import { type CliIo, editLine, Interrupted, run } from './index.js';

// The few Node shapes used here, typed structurally: the packages' type check has no Node types
// (library code must stay edge-safe), and this file is the one place that touches the process.
interface Input {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  setEncoding(encoding: 'utf8'): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event: string): unknown;
  resume(): unknown;
  pause(): unknown;
}
interface Output {
  isTTY?: boolean;
  write(text: string): boolean;
}
interface Proc {
  argv: string[];
  env: Record<string, string | undefined>;
  stdin: Input;
  stdout: Output;
  stderr: Output;
  exitCode?: number;
  once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  exit(code: number): never;
}
const proc = (globalThis as unknown as { process: Proc }).process;
const { stdin, stderr } = proc;

/** Reads a line from the terminal in raw mode: nothing typed is echoed. Ctrl-C rejects with `Interrupted`. */
function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.setRawMode?.(false);
      stdin.removeAllListeners('data');
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    // Echo goes off before the prompt shows: nothing typed after it can appear.
    stdin.setRawMode?.(true);
    stdin.setEncoding('utf8');
    stderr.write(prompt);
    stdin.on('data', (chunk) => {
      const edit = editLine(value, chunk);
      value = edit.value;
      if (edit.cancelled) finish(new Interrupted());
      else if (edit.done) finish();
    });
    stdin.resume();
  });
}

/** The first line of standard input; the rest is not read. */
function readStdinLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = () => {
      stdin.removeAllListeners('data');
      stdin.pause();
      resolve(text.split(/\r?\n/)[0] ?? '');
    };
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) finish();
    });
    stdin.on('end', finish);
    stdin.on('error', reject);
    stdin.resume();
  });
}

async function readFile(path: string): Promise<string> {
  const fs = (await import('node:fs/promises' as string)) as { readFile(path: string, encoding: 'utf8'): Promise<string> };
  return fs.readFile(path, 'utf8');
}

async function writeFile(path: string, text: string): Promise<void> {
  const fs = (await import('node:fs/promises' as string)) as { writeFile(path: string, text: string): Promise<void> };
  await fs.writeFile(path, text);
}

async function startMock(port: number, host: string): Promise<number> {
  const [{ serve }, { demoKeys }] = await Promise.all([import('@sluice/mock-server/node'), import('@sluice/mock-server')]);
  const served = await serve({ port, host });
  const [admin, readOnly, expired] = demoKeys.map((k) => k.key);
  proc.stdout.write(
    [
      `sluice mock server listening on ${served.url}: a local simulator of the API (60 requests a minute per key, 15-minute tokens)`,
      `Demo keys (fake, valid only here): admin ${admin}, read-only ${readOnly}, expired ${expired}`,
      'Try, in another shell:',
      `  export SLUICE_BASE_URL=${served.url} SLUICE_API_KEY=${admin}`,
      `  sluice GET '/v2/event-details?ids=evt_1' --verbose`,
      `  sluice POST /v2/incidents/list --data '{"page_request":{"size":100}}' --paginate | wc -l`,
      `Stats: ${served.url}/_mock/stats   More simulator flags (time scale, faults): npx sluice-mock --help`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    proc.once('SIGINT', resolve);
    proc.once('SIGTERM', resolve);
  });
  await served.close();
  return 0;
}

const aborter = new AbortController();
proc.once('SIGINT', () => aborter.abort(new Interrupted()));
const io: CliIo = {
  env: proc.env,
  stdout: proc.stdout,
  stderr: proc.stderr,
  readFile,
  writeFile,
  readStdinLine,
  promptHidden: stdin.isTTY ? promptHidden : undefined,
  startMock,
  signal: aborter.signal,
};

run(proc.argv.slice(2), io).then(
  (code) => {
    proc.exitCode = code;
  },
  (error) => {
    proc.stderr.write(`sluice: ${error instanceof Error ? error.message : 'unexpected error'}\n`);
    proc.exitCode = 1;
  },
);
