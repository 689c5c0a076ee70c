// Runs a process for the suites that start other programs (runtimes, consumer): its output, its code, a time limit.
import { spawn } from 'node:child_process';

/** Runs `command args`; resolves `{ code, stdout, stderr }`, never rejects (-1: it could not start; killed past `timeoutMs`). */
export function exec(command, args, { cwd, env = process.env, timeoutMs = 60_000 } = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      done({ code: -1, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? (signal ? 128 : 0), stdout, stderr });
    });
  });
}
