#!/usr/bin/env node
import { parseCliArgs, USAGE } from './cli-args.js';
import { defaults, demoKeys } from './index.js';
import { serve } from './node.js';

interface Proc {
  argv: string[];
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  exitCode?: number;
  once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}
const proc = (globalThis as unknown as { process: Proc }).process;

async function main(): Promise<void> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(proc.argv.slice(2));
  } catch (error) {
    proc.stderr.write(`sluice-mock: ${error instanceof Error ? error.message : String(error)}\n`);
    proc.exitCode = 2;
    return;
  }
  if (args.help) {
    proc.stdout.write(USAGE);
    return;
  }
  const served = await serve({ ...args.options, port: args.port, host: args.host });
  const o = { ...defaults, ...args.options };
  const lines = [
    `sluice mock server listening on ${served.url}`,
    `  time scale ${o.timeScale}x, ${o.algorithm}, ${o.limit} requests per ${o.windowMs / 1000} s per key, ${o.concurrency} concurrent per endpoint (${o.concurrencyScope})`,
  ];
  if (args.customKeys) {
    lines.push(
      'API keys (from --keys):',
      ...served.mock.keys().map((k) => `  ${k.role.padEnd(10)} id ${k.id}${k.expired ? '  (expired)' : ''}`),
    );
  } else {
    lines.push('Demo API keys (fake, valid only against this local mock server, so safe to print):');
    for (const k of demoKeys) lines.push(`  ${(k.validForMs ?? 0) < 0 ? 'expired' : k.role}`.padEnd(12) + k.key);
  }
  const admin = demoKeys[0]?.key ?? '<key>';
  lines.push(
    `Get a token:  curl -s -X POST ${served.url}/v2/auth/token/access -d '{"api_key":"${args.customKeys ? '<key>' : admin}"}'`,
    `Stats:        ${served.url}/_mock/stats`,
    'Ctrl-C to stop.',
  );
  proc.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    served.close().then(
      () => proc.stdout.write('sluice mock server stopped\n'),
      (error) => proc.stderr.write(`sluice-mock: ${String(error)}\n`),
    );
  };
  proc.once('SIGINT', stop);
  proc.once('SIGTERM', stop);
}

main().catch((error) => {
  proc.stderr.write(`sluice-mock: ${error instanceof Error ? error.message : String(error)}\n`);
  proc.exitCode = 1;
});
