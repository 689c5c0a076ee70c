import { memoryTokenStore, type StoredToken, type TokenStore } from '@sluice/auth-token';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { API, bearer, harness, KEY_ID } from './helpers.js';

test('the memory store deletes only while it still holds the given token', async () => {
  const store = memoryTokenStore();
  const token: StoredToken = { token: 'a', issuedAt: 0, expiresAt: 1000 };
  await store.set('k', token);
  await store.delete('k', 'older');
  assert.equal(await store.get('k'), token);
  await store.delete('k', 'a');
  assert.is(await store.get('k'), undefined);
});

test('a shared store lets a second pipeline reuse a token without an exchange', async () => {
  const store = memoryTokenStore();
  const a = harness({ store });
  await a.fetch(`${API}/v2/x`);
  const b = harness({ store });
  // b's fake API shares nothing with a's: teach it a's token.
  b.api.tokens.set('tok-1', { expiresAt: Number.POSITIVE_INFINITY, key: 'shared' });
  await b.fetch(`${API}/v2/x`);
  assert.is(b.api.exchanges, 0);
  assert.is(bearer(b.apiCalls()[0]), 'tok-1');
  assert.is(b.of('auth:token-acquired')[0]?.reason, 'initial');
});

test('a stored token inside its refresh window is not adopted, a 401-rejected one never is', async () => {
  const store = memoryTokenStore();
  const h = harness({ store });
  await store.set(KEY_ID, { token: 'tok-old', issuedAt: h.clock.now() - 800_000, expiresAt: h.clock.now() + 100_000 });
  await h.fetch(`${API}/v2/x`);
  assert.is(h.api.exchanges, 1);
  assert.equal((await store.get(KEY_ID))?.token, 'tok-1');
  h.api.revokeAll();
  await h.fetch(`${API}/v2/x`);
  assert.is(h.api.exchanges, 2);
  assert.equal((await store.get(KEY_ID))?.token, 'tok-2');
});

/** A token `a` got through an 800 ms exchange, then the request at 7.9 s - 1 ms and at 7.9 s of its life by `b`. */
async function refreshesOfAReader(store: TokenStore) {
  const a = harness({ store, lifetimeS: 10, tokenDelayMs: 800 });
  const first = a.fetch(`${API}/v2/x`);
  await a.clock.advance(800);
  await first;
  const issuedAt = a.exchangeCalls()[0]!.at;
  const b = harness({ store, lifetimeS: 10 });
  b.api.tokens.set('tok-1', { expiresAt: issuedAt + 10_000, key: 'shared' });
  const exchanges: number[] = [];
  for (const at of [7899, 7900, 8000]) {
    await b.clock.advanceTo(issuedAt + at);
    await b.fetch(`${API}/v2/x`);
    await b.clock.flush();
    exchanges.push(b.api.exchanges);
  }
  return exchanges;
}

test("the exchange's latency is stored with the token: a pipeline that reads it refreshes as early as that exchange needs", async () => {
  const store = memoryTokenStore();
  // 10 s tokens: the 20% lead (2 s) grows to the 0.5 s margin plus twice 800 ms, 2.1 s: the refresh is due at 7.9 s.
  assert.equal(await refreshesOfAReader(store), [0, 1, 1]);
  assert.is((await store.get(KEY_ID))?.latencyMs, 0, 'the reader exchanged at once: its latency is stored now');
});

test('a store that drops the latency plans the refresh as for an instant exchange', async () => {
  const inner = memoryTokenStore();
  const store: TokenStore = { ...inner, set: (id, { token, issuedAt, expiresAt }) => inner.set(id, { token, issuedAt, expiresAt }) };
  assert.equal(await refreshesOfAReader(store), [0, 0, 1]);
});

test("the exchange runs under the store's lock when it has one", async () => {
  const inner = memoryTokenStore();
  const log: string[] = [];
  const store: TokenStore = {
    get: (id) => inner.get(id),
    set: (id, token) => inner.set(id, token),
    delete: (id, token) => inner.delete(id, token),
    async lock(id, work) {
      log.push(`lock ${id}`);
      try {
        return await work();
      } finally {
        log.push(`unlock ${id}`);
      }
    },
  };
  const h = harness({ store });
  await h.fetch(`${API}/v2/x`);
  assert.equal(log, [`lock ${KEY_ID}`, `unlock ${KEY_ID}`]);
  assert.is(h.api.exchanges, 1);
});

test('a store that fails rejects the waiters, and the next request tries again', async () => {
  let fail = true;
  const inner = memoryTokenStore();
  const store: TokenStore = {
    ...inner,
    get: async (id) => {
      if (fail) throw new Error('store down');
      return inner.get(id);
    },
  };
  const h = harness({ store });
  const error = await h.fetch(`${API}/v2/x`).catch((e: Error) => e);
  assert.is((error as Error).message, 'store down');
  fail = false;
  assert.is((await h.fetch(`${API}/v2/x`)).status, 200);
});

test('a flight that dies with a runtime error (a Worker request that ended) is replaced once by its waiters', async () => {
  const inner = memoryTokenStore();
  let gets = 0;
  const store: TokenStore = {
    ...inner,
    get: async (id) => {
      if (++gets === 1) throw new Error('This promise was created by a request that has since ended');
      return inner.get(id);
    },
  };
  const h = harness({ store });
  const responses = await Promise.all(Array.from({ length: 10 }, () => h.fetch(`${API}/v2/x`)));
  assert.ok(responses.every((r) => r.status === 200));
  assert.is(gets, 2);
  assert.is(h.api.exchanges, 1);
});

test('waitUntil receives every exchange, so a Worker keeps a background refresh alive', async () => {
  const kept: Promise<unknown>[] = [];
  const h = harness({ waitUntil: (promise) => kept.push(promise), tokenDelayMs: 1000 });
  const first = h.fetch(`${API}/v2/x`);
  await h.clock.advance(1000);
  await first;
  await h.clock.advance(720_000);
  await h.fetch(`${API}/v2/x`);
  assert.is(kept.length, 2);
  let done = false;
  kept[1]?.then(() => (done = true));
  await h.clock.flush();
  assert.not.ok(done);
  await h.clock.advance(1000);
  assert.ok(done);
  assert.is(h.of('auth:token-acquired').at(-1)?.reason, 'refresh-ahead');
});
test.run();
