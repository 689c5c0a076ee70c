// Runs the suites that need a real redis-server (test/redis/*.test.ts), like test/unit.mjs does for the others.
// Usage: node --import tsx test/redis/run.mjs [filter...]. Never skips: without redis-server on PATH it fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'uvu/run';

const dir = resolve(import.meta.dirname);
const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (found.error || found.status !== 0) {
  console.error('redis-server not found on PATH: the redis suites need it (Debian: apt-get install redis-server). Failing, not skipping.');
  console.log('redis: 0 passed, 1 failed');
  process.exit(1);
}
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => join(dir, name))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
await run(
  files.map((file) => ({ name: relative(resolve(dir, '..'), file), file })),
  { bail: false },
);
