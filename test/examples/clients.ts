import { demoKeys } from '@sluice/mock-server';
import * as assert from 'uvu/assert';

/** What a client example's `main(log)` resolves to: the simulator's stats at the end. */
interface Stats {
  tokenExchanges: number;
  rateLimited: number;
  forbidden: number;
  requests: number;
}

/**
 * Runs a client example's `main` with a collecting logger and checks what every client example promises: one token
 * exchange, a 429 absorbed by a retry, the 403 caught with its guard, and no key or token in the output.
 */
export async function runClientExample(main: (log: (line: string) => void) => Promise<Stats>) {
  const lines: string[] = [];
  const stats = await main((line) => lines.push(line));
  const out = lines.join('\n');
  assert.match(out, /^listed 3 incidents: inc_\d+, inc_\d+, inc_\d+$/m);
  assert.match(out, /^429 on GET \/v2\/event-details: retry in \d+ ms$/m);
  assert.match(out, /^event details: 3 events after the 429 was absorbed$/m);
  assert.match(out, /^403 caught: PermissionError \(403 insufficient permissions: GET http:\/\/127\.0\.0\.1:\d+\/v2\/admin\/api-keys\)$/m);
  assert.match(out, /^done: 1 token exchange, 5 requests, 1 answered 429, none reached the caller$/m);
  assert.is(stats.tokenExchanges, 1);
  assert.is(stats.rateLimited, 1);
  assert.is(stats.forbidden, 1);
  for (const { key } of demoKeys) assert.not.match(out, key, 'no API key printed');
  assert.not.match(out, /Bearer|eyJ/, 'no token printed');
  return { lines, stats };
}
