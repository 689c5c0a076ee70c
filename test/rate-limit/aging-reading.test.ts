// A sliding log's window read from what is left as the key's own requests age (`aging-reading.ts`): the bounds it
// keeps hold under each kind of server, a cut seen moving proves a sliding log, and fixed windows or a bucket are never
// read as one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgingReading, agedWindow, readAging, startAging } from '../../packages/rate-limit/src/aging-reading.js';
import { counter } from '../bench/scale-servers.mjs';
import { seeded } from './models.js';

type Kind = 'sliding' | 'fixed' | 'bucket';

interface Plan {
  kind: Kind;
  limit: number;
  windowMs: number;
  /** When each request leaves, in order. */
  sends: number[];
  seed?: number;
  /** Requests of another client, counted by the server alongside the key's. */
  othersAt?: number[];
}

/**
 * The key's requests against a server of `kind`, each way 25 to 75 ms, read in the order their answers come (those a
 * server refuses stating none left): the reading after all of them.
 */
function read({ kind, limit, windowMs, sends, seed = 1, othersAt = [] }: Plan): AgingReading {
  const random = seeded(seed);
  const server = counter(kind, limit, windowMs);
  const trips = sends.map((sentAt) => ({ sentAt, arrives: sentAt + 25 + random() * 50, back: 25 + random() * 50 }));
  const arrivals = [
    ...trips.map((t) => ({ at: t.arrives, trip: t as (typeof trips)[number] | undefined })),
    ...othersAt.map((at) => ({ at, trip: undefined })),
  ].sort((a, b) => a.at - b.at);
  const answers: { sentAt: number; at: number; remaining: number; refused: boolean }[] = [];
  for (const { at, trip } of arrivals) {
    const taken = server.admit(at);
    if (trip) answers.push({ sentAt: trip.sentAt, at: at + trip.back, remaining: server.quota(at).remaining, refused: !taken });
  }
  answers.sort((a, b) => a.at - b.at);
  const reading = startAging(limit, 0, answers[0]?.at ?? 0);
  for (const answer of answers) {
    const othersInFlight = answers.filter((a) => a !== answer && a.sentAt < answer.at && a.at > answer.at).length;
    readAging(reading, answer.refused ? { ...answer, remaining: undefined } : answer, othersInFlight);
  }
  return reading;
}

/** One request at a time, each sent as the one before is answered (about 100 ms apart), over `ms`. */
const oneAtATime = (ms: number, from = 0) => Array.from({ length: Math.floor(ms / 100) }, (_, i) => from + i * 100);
/** A request every `gapMs` (several in flight together where it is below a round trip) over `ms`. */
const every = (gapMs: number, ms: number, from = 0) => Array.from({ length: Math.floor(ms / gapMs) }, (_, i) => from + i * gapMs);
/** `count` requests at once at each of `at`. */
const burstsAt = (at: number[], count: number) => at.flatMap((t) => Array.from({ length: count }, (_, i) => t + i));

test('a sliding log, one request at a time: its cut seen moving, its window between the bounds, read no shorter', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const reading = read({ kind: 'sliding', limit: 20, windowMs: 2000, sends: oneAtATime(10_000), seed });
    assert.ok(reading.moving, `seed ${seed}: a cut moved`);
    assert.not.ok(reading.refuted);
    assert.ok(reading.lo < 2000 && reading.hi >= 2000, `seed ${seed}: ${reading.lo} < 2000 <= ${reading.hi}`);
    const windowMs = agedWindow(reading, 10_000);
    assert.ok(windowMs !== undefined && windowMs >= 2000 && windowMs < 2200, `seed ${seed}: read ${windowMs} ms`);
  }
});

test('a sliding log met in bursts (many in flight together): the bounds hold, no cut is proved to move', () => {
  const reading = read({ kind: 'sliding', limit: 20, windowMs: 2000, sends: burstsAt([0, 2200, 4400, 6600], 20) });
  assert.not.ok(reading.refuted);
  assert.ok(reading.lo < 2000 && reading.hi >= 2000, `${reading.lo} < 2000 <= ${reading.hi}`);
  assert.is(agedWindow(reading, 9000), undefined, 'no window without a cut seen moving');
});

test('fixed windows, one request at a time or in bursts, at any phase: never a cut moving, never a window read', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const straddling = burstsAt(
      [1970, 3990, 5950, 7980].map((t) => t + seed),
      20,
    );
    for (const sends of [oneAtATime(12_000, seed * 137), burstsAt([seed * 311, 2100 + seed * 97, 4300, 6500, 8700], 20), straddling]) {
      const reading = read({ kind: 'fixed', limit: 20, windowMs: 2000, sends, seed });
      assert.not.ok(reading.moving, `seed ${seed}: no cut can be shown to move`);
      assert.is(agedWindow(reading, 20_000), undefined);
    }
    // Requests every few ms, several in flight together, under a limit they never reach: each window's last ones
    // counted, those just after its end forgotten, with answers on their way across every end.
    for (const gap of [10, 30, 60, 150]) {
      const reading = read({ kind: 'fixed', limit: 500, windowMs: 2000, sends: every(gap, 12_000, seed * 37), seed });
      assert.not.ok(reading.moving, `seed ${seed}, a request every ${gap} ms: no cut can be shown to move`);
    }
  }
});

// Fixed windows of 20 per 2 s, cut at 2 s; four requests counted before it (sent from 1.8 s), whose answers came. `earlier` reaches the
// server at 1.99 s (the fifth counted) and is answered at 2.04 s; `later` leaves at 2.05 s, after that answer, and
// finds two counted: itself and one that reached the server after the cut, sent before `later`, on its way while
// `earlier` was. Two counted after four were forgotten looks like a cut moving, unless that one is allowed for.
const beforeTheCut = [1800, 1810, 1820, 1830].map((sentAt, i) => ({ sentAt, at: sentAt + 100, remaining: 19 - i, refused: false }));
const earlier = { sentAt: 1940, at: 2040, remaining: 15, refused: false };
const later = { sentAt: 2050, at: 2100, remaining: 18, refused: false };

test('fixed windows: a request still on its way as an answer comes may have reached the server between, after the cut', () => {
  const reading = startAging(20, 0, 100);
  for (const answer of [...beforeTheCut, earlier]) readAging(reading, answer, 0);
  // Sent at 1.995 s, reached the server at 2.001 s, answered at 2.2 s: on its way as `later` is answered.
  readAging(reading, later, 1);
  assert.not.ok(reading.moving);
});

test('fixed windows: a request sent before an earlier one may reach the server after it, and after the cut', () => {
  const reading = startAging(20, 0, 100);
  for (const answer of [...beforeTheCut, earlier]) readAging(reading, answer, 0);
  // Sent at 1.93 s, before `earlier`, it reached the server at 2.005 s, after the cut, and was answered at 2.045 s.
  readAging(reading, { sentAt: 1930, at: 2045, remaining: 19, refused: false }, 0);
  readAging(reading, later, 0);
  assert.not.ok(reading.moving);
});

test('a bucket, one request at a time: what it refills is not a window, and the bounds cross', () => {
  for (const seed of [1, 2, 3]) {
    const reading = read({ kind: 'bucket', limit: 20, windowMs: 2000, sends: [...burstsAt([0], 20), ...oneAtATime(8000, 300)], seed });
    assert.ok(reading.refuted, `seed ${seed}: lo ${reading.lo}, hi ${reading.hi}`);
    assert.is(agedWindow(reading, 20_000), undefined);
  }
});

test('a server counting more than the key ever sent (another client on the key): refuted', () => {
  const reading = read({ kind: 'sliding', limit: 20, windowMs: 2000, sends: oneAtATime(1000, 1000), othersAt: burstsAt([0], 10) });
  assert.ok(reading.refuted);
  assert.is(reading.answers.length, 0, 'nothing kept once refuted');
});

test('keeps at most the limit of answers, and no cut is compared across answers it dropped', () => {
  const reading = read({ kind: 'sliding', limit: 5, windowMs: 1000, sends: oneAtATime(5000) });
  assert.ok(reading.answers.length <= 5);
  assert.ok(reading.droppedUpTo > 0);
});
test.run();
