import { isConnectionReset } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../helpers/index.js';
import { ADMIN_KEY, setup, TOKEN_PATH } from './helpers.js';

test('truncateRate 1 answers 200 with headers and half a body, then fails the body like a reset', async () => {
  const { token, list, server } = setup();
  const t = await token();
  server.setFaults({ truncateRate: 1 });
  const response = await list(t);
  assert.is(response.status, 200);
  assert.ok(response.headers.get('x-ratelimit-remaining'));
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  assert.ok((first.value?.length ?? 0) > 0, 'part of the body arrives');
  const error = await rejects(reader.read(), TypeError);
  assert.is((error as Error).message, 'terminated');
  assert.is(((error as Error).cause as { code: string }).code, 'ECONNRESET');
  assert.ok(isConnectionReset(error));
  assert.is(server.stats().faults.resets, 1);
});

test('truncateRate spares token exchanges', async () => {
  const { token, server } = setup({ faults: { truncateRate: 1 } });
  assert.ok((await token()).length > 0);
  assert.is(server.stats().faults.resets, 0);
});

test('serve() sends the status, headers and part of the body, then destroys the socket', async () => {
  const served = await serve({ port: 0, faults: { truncateRate: 1 } });
  try {
    const exchange = await fetch(`${served.url}${TOKEN_PATH}`, { method: 'POST', body: JSON.stringify({ api_key: ADMIN_KEY }) });
    const { access_token } = (await exchange.json()) as { access_token: string };
    for (const size of [1, 500]) {
      const response = await fetch(`${served.url}/v2/incidents/list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}` },
        body: JSON.stringify({ page_request: { size } }),
      });
      assert.is(response.status, 200);
      const error = await rejects(response.text(), TypeError);
      assert.is((error as Error).message, 'terminated');
    }
    assert.is(served.mock.stats().faults.resets, 2);
  } finally {
    await served.close();
  }
});

test.run();
