import { test } from 'uvu';
import { main } from '../../examples/axios/main.js';
import { runClientExample } from './clients.js';

test('axios through its fetch adapter and env.fetch exchanges one token, has a 429 absorbed and catches the 403 with its guard', async () => {
  await runClientExample(main);
});

test.run();
