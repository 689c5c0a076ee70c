// Runs the suites that need a real redis-server (test/redis/*.test.ts), like test/unit.mjs does for the others.
// Usage: node --import tsx test/redis/run.mjs [filter...]. Installs redis-server (Debian's package) when it is missing
// and this runs as root; never skips: without redis-server on PATH it fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'uvu/run';
import { ensureDebianPackage } from '../debian.mjs';

const dir = resolve(import.meta.dirname);
// A fresh machine gets Debian's package when this runs as root.
const problem = ensureDebianPackage('redis-server');
const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (found.error || found.status !== 0) {
  console.error(
    `redis-server not found on PATH: the redis suites need it (${problem ?? 'Debian: apt-get install redis-server'}). Failing, not skipping.`,
  );
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
