import { compose, type Interceptor } from '@sluice/core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// How compose calls the platform's fetch: a request it made without a caller's signal goes with `{ signal: null }`,
// so the platform's copy does not follow a signal that can never abort; every other request goes as it is.

interface Seen {
  request: Request;
  init: RequestInit | undefined;
}

async function withGlobalFetch(run: (seen: Seen[]) => Promise<void>) {
  const original = globalThis.fetch;
  const seen: Seen[] = [];
  globalThis.fetch = (async (request: Request, init?: RequestInit) => {
    seen.push({ request, init });
    // What the platform does with the pair: one copy, following the request's signal unless init says otherwise.
    const copy = new Request(request, init);
    if (copy.signal.aborted) throw copy.signal.reason;
    return new Response('ok');
  }) as typeof fetch;
  try {
    await run(seen);
  } finally {
    globalThis.fetch = original;
  }
}

const passthrough: Interceptor = { name: 'passthrough', handle: (request, next) => next(request) };

test("a request made here without the caller's signal goes with { signal: null }", async () => {
  await withGlobalFetch(async (seen) => {
    const fetch = compose([passthrough]);
    await fetch('https://api.example/v2/items', { headers: { 'x-a': '1' } });
    assert.equal(seen[0]!.init, { signal: null });
    assert.is(seen[0]!.request.headers.get('x-a'), '1');
  });
});

test("with the caller's signal, the request goes as it is and follows it", async () => {
  await withGlobalFetch(async (seen) => {
    const fetch = compose([passthrough]);
    const controller = new AbortController();
    await fetch('https://api.example/v2/items', { signal: controller.signal });
    assert.is(seen[0]!.init, undefined);
  });
});

test("the caller's own Request goes as it is", async () => {
  await withGlobalFetch(async (seen) => {
    const fetch = compose([passthrough]);
    const request = new Request('https://api.example/v2/items');
    await fetch(request);
    assert.is(seen[0]!.request, request);
    assert.is(seen[0]!.init, undefined);
  });
});

test('a request an interceptor replaced goes as it is (its signal may be one that aborts)', async () => {
  await withGlobalFetch(async (seen) => {
    const controller = new AbortController();
    const replacing: Interceptor = {
      name: 'replacing',
      handle: (request, next) => next(new Request(request, { signal: controller.signal })),
    };
    const fetch = compose([replacing]);
    await fetch('https://api.example/v2/items');
    assert.is(seen[0]!.init, undefined);
    assert.is(seen[0]!.request.signal.aborted, false);
  });
});

test('a request with a referrer of its own goes as it is (a non-empty init would reset the referrer)', async () => {
  await withGlobalFetch(async (seen) => {
    const fetch = compose([passthrough]);
    await fetch('https://api.example/v2/items', { referrer: 'https://app.example/page' });
    assert.is(seen[0]!.init, undefined);
  });
});

test('a custom transport gets the request alone', async () => {
  const calls: unknown[][] = [];
  const fetch = compose([passthrough], {
    fetch: async (...args: unknown[]) => {
      calls.push(args);
      return new Response('ok');
    },
  });
  await fetch('https://api.example/v2/items');
  assert.is(calls[0]!.length, 1);
});

test.run();
