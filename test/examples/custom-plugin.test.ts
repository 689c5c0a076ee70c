import { compose } from '@sluice/core';
import { createFakeTransport, createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requestTimer } from '../../examples/custom-plugin/request-timer.js';
import { rejects } from '../helpers/index.js';

test('the plugin reports each call with its duration on the pipeline clock', async () => {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).fallback(async () => {
    await clock.sleep(250);
    return new Response('ok', { status: 201 });
  });
  const api = compose([requestTimer()], { fetch: transport.fetch, clock });
  const seen: unknown[] = [];
  api.events.on('timer:request-done', (e) => seen.push(e));
  const pending = api('https://api.example/v2/items?q=secret', { method: 'POST' });
  await clock.advance(250);
  await pending;
  assert.equal(seen, [{ method: 'POST', url: 'https://api.example/v2/items', status: 201, durationMs: 250 }]);
});

test('the plugin reports failures and lets the error through', async () => {
  const transport = createFakeTransport().fallback(new TypeError('fetch failed'));
  const api = compose([requestTimer()], { fetch: transport.fetch });
  const failed: string[] = [];
  api.events.on('timer:request-failed', (e) => failed.push(e.url));
  await rejects(api('https://api.example/down'), TypeError);
  assert.equal(failed, ['https://api.example/down']);
});

test.run();
