import { sleep, systemClock } from '@sluice/core';
import { createTestClock } from '@sluice/core/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, track } from '../helpers/index.js';

test('the test clock fires timers in due order as time advances', async () => {
  const clock = createTestClock({ now: 1000 });
  const fired: string[] = [];
  clock.sleep(300).then(() => fired.push(`b@${clock.now()}`));
  clock.sleep(100).then(() => fired.push(`a@${clock.now()}`));
  clock.sleep(300).then(() => fired.push(`c@${clock.now()}`));
  await clock.advance(299);
  assert.equal(fired, ['a@1100']);
  await clock.advance(1);
  assert.equal(fired, ['a@1100', 'b@1300', 'c@1300']);
  assert.is(clock.now(), 1300);
});

test('timers set by fired timers fire within the same advance', async () => {
  const clock = createTestClock({ now: 0 });
  const fired: number[] = [];
  const loop = async () => {
    for (let i = 0; i < 3; i++) {
      await clock.sleep(10);
      fired.push(clock.now());
    }
  };
  loop();
  await clock.advance(30);
  assert.equal(fired, [10, 20, 30]);
});

test('an aborted test-clock sleep rejects with the reason and removes the timer', async () => {
  const clock = createTestClock();
  const controller = new AbortController();
  const reason = new Error('stop');
  const pending = track(clock.sleep(1000, controller.signal));
  assert.is(clock.pending, 1);
  controller.abort(reason);
  assert.is(await rejects(pending.promise), reason);
  assert.is(clock.pending, 0);
});

test('runAll fires everything and refuses runaway loops', async () => {
  const clock = createTestClock({ now: 0 });
  const done = track(clock.sleep(5_000));
  await clock.runAll();
  assert.ok(done.settled());
  assert.is(clock.now(), 5000);
  let stop = false;
  const forever = async () => {
    while (!stop) await clock.sleep(1);
  };
  forever();
  await rejects(clock.runAll(50), (e) => /more than 50/.test((e as Error).message));
  stop = true;
  await clock.advance(1);
});

test('real sleep rejects at once with the reason of an already aborted signal', async () => {
  const reason = new Error('already');
  assert.is(await rejects(sleep(10_000, AbortSignal.abort(reason))), reason);
});

test('real sleep clears its timer when aborted, so nothing is left pending', async () => {
  const controller = new AbortController();
  const pending = sleep(60_000, controller.signal);
  controller.abort('why');
  assert.is(await rejects(pending), 'why');
});

test('real sleep of zero or a negative or NaN delay resolves', async () => {
  await sleep(0);
  await sleep(-5);
  await sleep(Number.NaN);
  assert.ok(systemClock.now() > 0);
});

test.run();
