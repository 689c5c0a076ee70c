import { test } from 'uvu';
import { main } from '../../examples/ky/main.js';
import { runClientExample } from './clients.js';

test('ky with fetch, retry 0 and no timeout exchanges one token, has a 429 absorbed and catches the 403 with its guard', async () => {
  await runClientExample(main);
});

test.run();
