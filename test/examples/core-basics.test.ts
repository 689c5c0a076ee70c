import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(import.meta.dirname, '../..');

test('the core example runs against the built package and logs without the query', () => {
  const out = execFileSync(process.execPath, ['examples/core-basics/index.mjs'], { cwd: root, encoding: 'utf8' });
  assert.match(out, 'attempt 1: POST https://api.example/v2/incidents/list -> 200');
  assert.match(out, "client: 'sluice'");
  assert.not.match(out, 'not-logged');
});

test.run();
