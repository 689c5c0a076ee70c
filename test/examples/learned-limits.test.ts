import { createTestClock } from '@sluice/core/testing';
import { demoKeys } from '@sluice/mock-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../examples/learned-limits/main.js';
import { drive } from '../helpers/index.js';

test('the learned-limits example learns a rule no looser than the server from its 429s; every call ends 200', async () => {
  const clock = createTestClock();
  const lines: string[] = [];
  const { statuses, stats, policy } = await drive(clock, main({ clock, log: (line) => lines.push(line) }), { stepMs: 50 });
  const out = lines.join('\n');
  assert.ok(
    statuses.every((s) => s === 200),
    out,
  );
  assert.ok(stats.rateLimited >= 1 && stats.rateLimited <= 5, `${stats.rateLimited} 429s\n${out}`);
  assert.is(policy?.source, 'refusals');
  // 20 per 2 s at the server, the token exchange among them.
  const rule = policy?.rules[0] ?? { limit: 0, windowMs: 0 };
  assert.ok(rule.limit <= 20 && rule.windowMs >= 1800, JSON.stringify(rule));
  assert.match(out, /^\d+\.\d s: refusals: \d+ per \d+ ms \(a 429 after \d+ requests answered in \d+ ms, asking to wait \d+ ms\)$/m);
  assert.match(out, /^done: 120 of 120 answered 200 in \d+\.\d s; the server answered \d+ 429s while the limit was learnt$/m);
  for (const { key } of demoKeys) assert.not.match(out, key, 'no API key printed');
});

test.run();
