// Starts the matrix process and watches it: it must write its rows, then exit by itself within `exitBoundMs`.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Row } from './harness.js';

const root = resolve(import.meta.dirname, '../..');

export interface MatrixRun {
  rows: Row[];
  node: string;
  /** Exit code, or null when a watchdog had to kill it. */
  code: number | null;
  /** Why it was killed: it ran past `boundMs`, or stayed alive `exitBoundMs` after writing its rows. */
  killed: 'run' | 'exit' | undefined;
  /** Real ms from writing its rows to exiting. */
  exitMs: number | undefined;
  realMs: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the scenarios (all, or `only`) in a child process. The watchdog is a failure bound, not a wait: a healthy
 * child exits as soon as its last scenario is closed, and the promise resolves at that moment.
 */
export function runMatrix(
  options: { only?: string[]; env?: Record<string, string>; boundMs?: number; exitBoundMs?: number } = {},
): Promise<MatrixRun> {
  const out = join(tmpdir(), `sluice-faults-${process.pid}-${Date.now()}.json`);
  const started = performance.now();
  // Under the secret audit (test/unit.mjs), the child is audited too: a leak there makes it exit with 1.
  const audited = (globalThis as Record<symbol, unknown>)[Symbol.for('sluice.audit')] !== undefined;
  const preload = audited ? ['--import', './test/audit/preload.ts'] : [];
  const args = ['--expose-gc', '--import', 'tsx', ...preload, 'test/faults/child.ts', out, ...(options.only ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let killed: MatrixRun['killed'];
  let written: number | undefined;
  const kill = (why: 'run' | 'exit') => () => {
    killed = why;
    child.kill('SIGKILL');
  };
  const watchdog = setTimeout(kill('run'), options.boundMs ?? 60_000);
  let exitWatchdog: ReturnType<typeof setTimeout> | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    if (written !== undefined || !chunk.toString().includes('rows written')) return;
    written = performance.now();
    exitWatchdog = setTimeout(kill('exit'), options.exitBoundMs ?? 5_000);
  });
  return new Promise((done) => {
    child.on('close', (code) => {
      const exitMs = written === undefined || killed ? undefined : Math.round(performance.now() - written);
      clearTimeout(watchdog);
      clearTimeout(exitWatchdog);
      let result: { rows: Row[]; node: string } = { rows: [], node: '' };
      try {
        result = JSON.parse(readFileSync(out, 'utf8'));
        rmSync(out);
      } catch {}
      done({ ...result, code: killed ? null : code, killed, exitMs, realMs: Math.round(performance.now() - started), stdout, stderr });
    });
  });
}
