import { test } from 'uvu';
import { main } from '../../examples/openapi-fetch/main.js';
import { runClientExample } from './clients.js';

test('openapi-fetch with createClient({ fetch }) exchanges one token, has a 429 absorbed and catches the 403 with its guard', async () => {
  await runClientExample(main);
});

test.run();
