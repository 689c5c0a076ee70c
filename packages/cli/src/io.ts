import type { FetchLike } from '@sluice/core';

export interface Output {
  write(text: string): unknown;
  /** A terminal: JSON is printed indented. */
  isTTY?: boolean;
}

/** Everything `run` needs from the process, so it runs anywhere and in tests. */
export interface CliIo {
  /** Read for SLUICE_API_KEY, CYBERHAVEN_API_KEY, SLUICE_BASE_URL and CYBERHAVEN_BASE_URL. */
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  /** Reads `--data @file`. */
  readFile(path: string): Promise<string>;
  /** Writes `--report FILE`; without it `--report` is a usage error. */
  writeFile?(path: string, text: string): Promise<void>;
  /** The first line of standard input, for `--key-stdin`. */
  readStdinLine(): Promise<string>;
  /** Reads a line from the terminal without echo; absent when standard input is not a terminal. */
  promptHidden?(prompt: string): Promise<string>;
  /** Runs `sluice mock`; resolves with the exit code once it stops. */
  startMock?(port: number, host: string): Promise<number>;
  /** Transport at the end of the pipeline. @default the global `fetch` */
  fetch?: FetchLike;
  /** Ends the call, as Ctrl-C does: `run` resolves with 130. */
  signal?: AbortSignal;
}

/** The user ended the hidden prompt with Ctrl-C. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

/** The rate limit holds the key for longer than `--max-wait`. */
export class WaitTooLong extends Error {
  override name = 'WaitTooLong';
}
