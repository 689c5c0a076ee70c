import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runMatrix } from './run.js';

const run = await runMatrix();

test('the matrix process writes its rows and exits by itself, without process.exit', () => {
  assert.is(run.stderr, '');
  assert.is(run.killed, undefined, `killed by the ${run.killed} watchdog`);
  assert.is(run.code, 0, run.stdout);
  assert.ok(run.rows.length >= 20, `${run.rows.length} rows`);
});

for (const row of run.rows) {
  test(`${row.fault}: every call settles once with a typed outcome, nothing unhandled or left open`, () => {
    assert.ok(row.calls > 0);
    assert.equal(row.problems, []);
  });
}

test('a scenario that leaves a timer running is reported and keeps the process from exiting', async () => {
  const leaky = await runMatrix({ only: ['planted-leak'], env: { SLUICE_FAULTS_PLANT_LEAK: '1' }, exitBoundMs: 1_000 });
  assert.is(leaky.killed, 'exit');
  assert.equal(leaky.rows[0]?.handlesAfterClose, ['Timeout']);
  assert.ok(leaky.rows[0]?.problems.some((p) => p.startsWith('open after close(): Timeout')));
});

test.run();
