import { test } from 'uvu';
import { main } from '../../examples/ofetch/main.js';
import { runClientExample } from './clients.js';

test('ofetch.create({ retry: 0 }, { fetch }) exchanges one token, has a 429 absorbed and catches the 403 with its guard', async () => {
  await runClientExample(main);
});

test.run();
