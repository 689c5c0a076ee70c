// The evidence that documented rules (`startFrom`) are too tight for the server: what is left of its quota, and when it
// says that quota is back, against the key's own latest answers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Answered,
  freedSoonerThanDocumented,
  heldWithSomeLeft,
  keepAnswered,
  leftMoreThanDocumented,
} from '../../packages/rate-limit/src/documented-check.js';

const perMinute = [{ limit: 10, windowMs: 60_000 }];

/** `count` requests, one every 100 ms from 0, each answered 50 ms after it left. */
function answered(count: number) {
  const kept: Answered[] = [];
  for (let i = 0; i < count; i++) keepAnswered(kept, { sentAt: i * 100, at: i * 100 + 50 }, 10);
  return kept;
}

test('keeps the latest answers, four times the largest documented limit (10 here)', () => {
  const kept = answered(40);
  keepAnswered(kept, { sentAt: 4000, at: 4050 }, 10);
  assert.is(kept.length, 40);
  assert.equal(kept[0], { sentAt: 100, at: 150, remaining: undefined });
});

test('more left than the documented rules allow after the requests they would still count: the server forgot them sooner', () => {
  const kept = answered(9);
  // Sent at 2 s, answered at 2.05 s: a server of 10 a minute still counts the nine before, and has none left.
  const at = (remaining: number) => ({ sentAt: 2000, at: 2050, remaining });
  assert.ok(leftMoreThanDocumented(kept, at(9), perMinute), 'all back: a shorter window');
  assert.ok(leftMoreThanDocumented(kept, at(1), perMinute), 'one more left than the rules allow');
  assert.not.ok(leftMoreThanDocumented(kept, at(0), perMinute), 'as the rules say');
  // Sent at 0.5 s: five answered before, four still on their way, which may reach the server after it and prove nothing.
  assert.not.ok(leftMoreThanDocumented(kept, { sentAt: 500, at: 2050, remaining: 4 }, perMinute));
  assert.ok(leftMoreThanDocumented(kept, { sentAt: 500, at: 2050, remaining: 5 }, perMinute));
  // A minute later the rules no longer count them either.
  assert.not.ok(leftMoreThanDocumented(kept, { sentAt: 61_000, at: 61_050, remaining: 9 }, perMinute));
  // A stated limit above the documented one shows through what is left.
  assert.ok(leftMoreThanDocumented([], { sentAt: 0, at: 50, remaining: 10 }, perMinute));
});

test('a reset well before the documented rules would free the oldest request they may count: the server frees sooner', () => {
  const kept = answered(10);
  const at = (resetAt?: number) => ({ sentAt: 950, at: 1000, resetAt });
  // A server counting by the rule frees the first request no sooner than a minute after it was sent, at 60 s.
  assert.ok(freedSoonerThanDocumented(kept, at(6000), perMinute), 'the minute compressed to 6 s');
  assert.not.ok(freedSoonerThanDocumented(kept, at(60_000), perMinute), 'as the rule would');
  // Within an eighth of the window (7.5 s) of it: a request's way there and back.
  assert.not.ok(freedSoonerThanDocumented(kept, at(53_000), perMinute));
  assert.ok(freedSoonerThanDocumented(kept, at(52_000), perMinute));
  assert.not.ok(freedSoonerThanDocumented(kept, at(), perMinute), 'no reset stated');
  // Answered before this request was sent less a window: a server counting by the rule may no longer count them.
  assert.not.ok(freedSoonerThanDocumented(kept, { sentAt: 61_000, at: 61_050, resetAt: 61_100 }, perMinute));
  assert.not.ok(freedSoonerThanDocumented([], at(2000), perMinute), 'nothing the rules count');
});

test('requests left where a documented rule holds the key: as many answered within its window as its limit, some still left now', () => {
  // Ten answered within the minute, this one last (sent at 0.9 s, answered at 0.95 s, kept as it came): the rule holds
  // the key, and the server says two are left.
  const withThis = (remaining: number, kept = answered(9)) => {
    const answer = { sentAt: 900, at: 950, remaining };
    keepAnswered(kept, answer, 10);
    return [kept, answer] as const;
  };
  assert.ok(heldWithSomeLeft(...withThis(2), perMinute));
  assert.not.ok(heldWithSomeLeft(...withThis(0), perMinute), 'none left');
  assert.not.ok(heldWithSomeLeft(...withThis(2, answered(9).slice(1)), perMinute), 'the rule lets one more go');
  // An answer that came after this request left may be to one that reached the server after it: what it said is left.
  const [kept, answer] = withThis(2);
  keepAnswered(kept, { sentAt: 880, at: 940, remaining: 0 }, 11);
  assert.not.ok(heldWithSomeLeft(kept, answer, perMinute));
  // A minute on, the rule no longer holds them.
  assert.not.ok(heldWithSomeLeft(withThis(2)[0], { sentAt: 61_000, at: 61_050, remaining: 2 }, perMinute));
});

test.run();
