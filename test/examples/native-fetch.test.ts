import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../examples/native-fetch/main.js';
import { runClientExample } from './clients.js';

const root = resolve(import.meta.dirname, '../..');

test('the native fetch example exchanges one token, has a 429 absorbed and catches the 403 with its guard', async () => {
  await runClientExample(main);
});

test('the native fetch example runs as a script and prints the same lines', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/native-fetch/main.ts'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.match(stdout, /^done: 1 token exchange, 5 requests, 1 answered 429, none reached the caller$/m);
});

test.run();
