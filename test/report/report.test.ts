import { createBus } from '@sluice/core';
import { type LoggedEvent, recordEvents, renderReport, renderTimelineSvg, themes, timelineOf } from '@sluice/report';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIMIT, recordedRun } from './helpers.js';
import { externalReferences, marksOf, yOf } from './svg.js';

// One short sync on the virtual clock, recorded as the demo records it, drawn once for the whole file.
const run = await recordedRun();
const count = (type: string, where: (e: LoggedEvent) => boolean = () => true) => run.log.filter((e) => e.type === type && where(e)).length;
const html = await renderReport({ log: run.log, limit: LIMIT, figures: [['calls', '120']] });
const svgs = html.match(/<svg\b.*?<\/svg>/gs) ?? [];

test('the recorded run has what the report must show: 429s, one of them reaching the caller, refreshes, pauses, a queue', () => {
  assert.ok(count('rate-limit:exceeded') >= 3, `429s received: ${count('rate-limit:exceeded')}`);
  assert.is(
    count('error:mapped', (e) => e.payload.status === 429),
    1,
  );
  assert.ok(count('auth:token-acquired', (e) => e.payload.reason === 'refresh-ahead') >= 2);
  assert.ok(count('rate-limit:paused') >= 1);
  assert.ok(run.log.some((e) => (e.waiting ?? 0) > 0));
  assert.is(run.errors.length, 1);
});

test('the page holds the timeline twice, for a light and a dark background, and shows the one prefers-color-scheme asks for', () => {
  assert.is(svgs.length, 2);
  assert.match(svgs[0]!, `fill="${themes.light.background}"`);
  assert.match(svgs[1]!, `fill="${themes.dark.background}"`);
  assert.match(html, /@media \(prefers-color-scheme: dark\)[^}]*\{[^}]*--bg: #0d1117/);
  assert.match(html, '<meta name="color-scheme" content="light dark">');
});

test('one 429 marker per 429 received and one per 429 that reached the caller, as in the log', () => {
  for (const svg of svgs) {
    assert.is(marksOf(svg, 'received429').length, count('rate-limit:exceeded'));
    assert.is(
      marksOf(svg, 'reachedCaller').length,
      count('error:mapped', (e) => e.payload.status === 429),
    );
  }
});

test('every token is drawn as a band with a mark at its exchange, refreshes ahead of expiry marked as such', () => {
  const acquired = count('auth:token-acquired');
  const refreshed = count('auth:token-acquired', (e) => e.payload.reason === 'refresh-ahead');
  for (const svg of svgs) {
    assert.is(marksOf(svg, 'tokenBands').length, acquired);
    assert.is(marksOf(svg, 'refreshes').length, refreshed);
    assert.is(marksOf(svg, 'exchanges').length, acquired - refreshed);
  }
});

test('the limit line is drawn at the limit: level with the top of a window that sent exactly that many', () => {
  const windows = timelineOf(run.log, LIMIT).windows;
  const full = windows.findIndex((w) => w.sent === LIMIT.limit);
  const short = windows.findIndex((w) => w.sent > 0 && w.sent < LIMIT.limit);
  assert.ok(full >= 0 && short >= 0, 'the run has a full window and one that is not');
  for (const svg of svgs) {
    const [rule] = marksOf(svg, 'limit');
    assert.match(rule!, `aria-label="limit: ${LIMIT.limit}"`);
    assert.match(marksOf(svg, 'limitLabel')[0]!, `text: limit: ${LIMIT.limit} per 1 s`);
    const bars = marksOf(svg, 'windows');
    assert.ok(Math.abs(yOf(bars[full]!) - yOf(rule!)) < 0.01, `rule at ${yOf(rule!)}`);
    assert.ok(yOf(bars[short]!) > yOf(rule!) + 1, 'a window under the limit is lower');
  }
});

test('the windows count every request sent once, and none holds more than the limit', () => {
  const t = timelineOf(run.log, LIMIT);
  const sent = count('rate-limit:acquired');
  assert.is(
    t.windows.reduce((n, w) => n + w.sent, 0),
    sent,
  );
  assert.is(t.requests, sent);
  assert.ok(t.windows.every((w) => w.sent <= LIMIT.limit));
  assert.ok(
    t.trailing.every((p) => p.sent <= LIMIT.limit),
    'no sliding window over the limit',
  );
  for (const svg of svgs) assert.is(marksOf(svg, 'windows').length, t.windows.length);
});

test("the summary shows the caller's figures, then those read from the log", () => {
  assert.match(html, '<tr><td>calls</td><td>120</td></tr>');
  assert.match(html, `<tr><td>429s received</td><td>${count('rate-limit:exceeded')}</td></tr>`);
  assert.match(html, '<tr><td>429s that reached the caller</td><td>1</td></tr>');
  assert.match(html, `<tr><td>most in any window</td><td>${LIMIT.limit} (limit ${LIMIT.limit} per 1 s)</td></tr>`);
});

test('the page loads nothing from elsewhere: no script, link, import, external URL or fetch', () => {
  assert.equal(externalReferences(html), []);
  assert.ok(
    externalReferences('<img src="https://x.example/a.png"><script src=x></script>@import url(//x)').length >= 3,
    'the check sees them',
  );
});

test('the recorder keeps the time, the name and the plain fields of each event, never an object such as an error', () => {
  const bus = createBus();
  let now = 1000;
  const recording = recordEvents(bus, { now: () => now, waiting: () => 3 });
  bus.emit('rate-limit:paused', { key: 'k', until: 2000, delayMs: 1000, reason: '429' });
  now = 1500;
  bus.emit('bus:listener-error', { event: 'x', error: new Error('boom') });
  recording.stop();
  bus.emit('rate-limit:paused', { key: 'k', until: 3000, delayMs: 1000, reason: '429' });
  assert.equal(recording.log, [
    { t: 1000, type: 'rate-limit:paused', payload: { key: 'k', until: 2000, delayMs: 1000, reason: '429' }, waiting: 3 },
    { t: 1500, type: 'bus:listener-error', payload: { event: 'x' }, waiting: 3 },
  ]);
});

const event = (t: number, type: string, payload: LoggedEvent['payload'] = {}): LoggedEvent => ({ t, type, payload });

test('pauses that overlap are shaded as one span, cut at the end of the log, and an empty one not at all', () => {
  const t = timelineOf([
    event(0, 'rate-limit:paused', { until: 2000, reason: '429' }),
    event(1000, 'rate-limit:paused', { until: 2500, reason: '429' }),
    event(2800, 'rate-limit:paused', { until: 2800, reason: '429' }),
    event(3000, 'rate-limit:paused', { until: 9000, reason: 'remaining' }),
    event(4000, 'rate-limit:acquired'),
  ]);
  assert.equal(t.pauses, [
    { from: 0, to: 2.5, reason: '429' },
    { from: 3, to: 4, reason: 'remaining' },
  ]);
});

test('the trailing count steps up at each request and down when it leaves the window', () => {
  const t = timelineOf(
    [event(0, 'rate-limit:acquired'), event(100, 'rate-limit:acquired'), event(1000, 'rate-limit:acquired'), event(2500, 'x')],
    {
      limit: 5,
      windowMs: 1000,
    },
  );
  assert.equal(t.trailing, [
    { t: 0, sent: 1 },
    { t: 0.1, sent: 2 },
    { t: 1, sent: 2 },
    { t: 1.1, sent: 1 },
    { t: 2, sent: 0 },
  ]);
  assert.equal(t.windows, [
    { from: 0, to: 1, sent: 2 },
    { from: 1, to: 2, sent: 1 },
    { from: 2, to: 2.5, sent: 0 },
  ]);
});

test('without queue counts in the log, the timeline has no queue panel', async () => {
  const log = [event(0, 'rate-limit:acquired'), event(500, 'rate-limit:exceeded', { url: 'u' })];
  assert.is(timelineOf(log).queue, undefined);
  const svg = await renderTimelineSvg({ log });
  assert.not.match(svg, 'queue_marks');
  assert.is(marksOf(svg, 'received429').length, 1);
  assert.is(marksOf(svg, 'reachedCaller').length, 0, 'an empty layer has no marks');
  assert.is(marksOf(svg, 'tokenBands').length, 0);
});

test.run();
