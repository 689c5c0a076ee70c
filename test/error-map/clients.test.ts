// What a caller catches when sluice is the fetch under ofetch 1.5, ky 1.9 and axios 1.21's fetch adapter.
// The pipeline is [errorMap(), retry429()] over the fake transport; each client gets the composed fetch.
import { compose, type SluiceFetch } from '@sluice/core';
import { createFakeTransport, createTestClock, type FakeTransport, json, type Reply, type TestClock } from '@sluice/core/testing';
import { type ErrorMapOptions, errorMap, isAuthenticationError, isNetworkError, isRateLimitError, RateLimitError } from '@sluice/error-map';
import { retry429 } from '@sluice/retry-429';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import ky, { HTTPError } from 'ky';
import { FetchError, ofetch } from 'ofetch';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { drive } from '../retry-429/helpers.js';
import { caught } from './helpers.js';

const URL_ITEMS = 'https://api.example/v2/items';

function pipeline(options: ErrorMapOptions = {}, ...replies: Reply[]): { clock: TestClock; transport: FakeTransport; fetch: SluiceFetch } {
  const clock = createTestClock();
  const transport = createFakeTransport({ clock }).queue(...replies);
  const fetch = compose([errorMap(options), retry429({ random: () => 0.5 })], { fetch: transport.fetch, clock });
  return { clock, transport, fetch };
}

const tooMany = () => json({ error: 'slow down' }, { status: 429, headers: { 'retry-after': '120' } });
const unauthorized = () => json({ error: 'invalid token' }, { status: 401 });
const offline = () => new TypeError('fetch failed');

const viaAxios = (fetch: SluiceFetch): AxiosInstance => axios.create({ adapter: 'fetch', env: { fetch } });

// ofetch

test('ofetch: the sluice error arrives as `cause` of a FetchError whose own status is empty', async () => {
  const p = pipeline({}, tooMany());
  const error = (await caught(ofetch.create({ retry: 0 }, { fetch: p.fetch })(URL_ITEMS))) as FetchError;
  assert.instance(error, FetchError);
  assert.ok(isRateLimitError(error.cause));
  assert.is((error.cause as RateLimitError).retryAfterMs, 120_000);
  assert.is(error.status, undefined, 'ofetch saw no response');
  assert.is(
    error.message,
    '[GET] "https://api.example/v2/items": <no response> 429 rate limited: GET https://api.example/v2/items (retry after 120s)',
  );
});

test("ofetch: its message quotes the full request URL, query included (ofetch's doing, not sluice's)", async () => {
  const p = pipeline({}, unauthorized());
  const error = (await caught(ofetch.create({ retry: 0 }, { fetch: p.fetch })(`${URL_ITEMS}?page=2`))) as FetchError;
  assert.ok(error.message.includes('?page=2'));
  assert.not.ok((error.cause as Error).message.includes('?page=2'));
});

test('ofetch: by default it retries a GET once when the fetch throws, running the whole pipeline twice; retry: 0 stops that', async () => {
  const p = pipeline({}, unauthorized(), unauthorized());
  const error = (await caught(ofetch.create({}, { fetch: p.fetch })(URL_ITEMS))) as FetchError;
  assert.ok(isAuthenticationError(error.cause));
  assert.is(p.transport.calls.length, 2);
  const once = pipeline({}, unauthorized(), unauthorized());
  await caught(ofetch.create({ retry: 0 }, { fetch: once.fetch })(URL_ITEMS));
  assert.is(once.transport.calls.length, 1);
});

test('ofetch: a network failure arrives as FetchError with a NetworkError cause', async () => {
  const p = pipeline({}, offline());
  const error = (await caught(ofetch.create({ retry: 0 }, { fetch: p.fetch })(URL_ITEMS, { method: 'POST', body: {} }))) as FetchError;
  assert.instance(error, FetchError);
  assert.ok(isNetworkError(error.cause));
});

test('ofetch: with keepResponse, its own FetchError carries status and the parsed body', async () => {
  const p = pipeline({ keepResponse: true }, unauthorized());
  const error = (await caught(ofetch.create({ retry: 0 }, { fetch: p.fetch })(URL_ITEMS))) as FetchError;
  assert.is(error.status, 401);
  assert.equal(error.data, { error: 'invalid token' });
  assert.is(error.cause, undefined);
});

test('ofetch: an abort arrives as FetchError with the signal reason as cause', async () => {
  const p = pipeline({});
  const controller = new AbortController();
  controller.abort(new Error('mine'));
  const error = (await caught(ofetch.create({ retry: 0 }, { fetch: p.fetch })(URL_ITEMS, { signal: controller.signal }))) as FetchError;
  assert.instance(error, FetchError);
  assert.is(error.cause, controller.signal.reason);
});

// ky

test('ky: the sluice error comes through unchanged', async () => {
  const p = pipeline({}, tooMany());
  const error = await caught(ky.create({ fetch: p.fetch, retry: 0 }).get(URL_ITEMS));
  assert.instance(error, RateLimitError);
  assert.ok(isRateLimitError(error));
  assert.is((error as RateLimitError).retryAt, p.clock.now() + 120_000);
});

test('ky: by default it retries a GET on any thrown error, a 401 included (limit 2: three pipeline runs); retry: 0 stops that', async () => {
  const p = pipeline({}, unauthorized(), unauthorized(), unauthorized());
  const error = await caught(ky.create({ fetch: p.fetch, retry: { limit: 2, delay: () => 0 } }).get(URL_ITEMS));
  assert.ok(isAuthenticationError(error));
  assert.is(p.transport.calls.length, 3);
});

test('ky: a network failure comes through as NetworkError', async () => {
  const p = pipeline({}, offline());
  const error = await caught(ky.create({ fetch: p.fetch, retry: 0 }).post(URL_ITEMS, { json: {} }));
  assert.ok(isNetworkError(error));
});

test('ky: with keepResponse, its own HTTPError carries the response', async () => {
  const p = pipeline({ keepResponse: true }, unauthorized());
  const error = (await caught(ky.create({ fetch: p.fetch, retry: 0 }).get(URL_ITEMS))) as HTTPError;
  assert.instance(error, HTTPError);
  assert.is(error.response.status, 401);
  assert.equal(await error.response.json(), { error: 'invalid token' });
});

test('ky: an abort comes through as the signal reason', async () => {
  const p = pipeline({});
  const controller = new AbortController();
  controller.abort(new Error('mine'));
  assert.is(await caught(ky.create({ fetch: p.fetch, retry: 0 }).get(URL_ITEMS, { signal: controller.signal })), controller.signal.reason);
});

// axios (fetch adapter)

test("axios: an AxiosError that copies the sluice error's name, code, message and status, with the sluice error as cause", async () => {
  const p = pipeline({}, tooMany());
  const error = (await caught(viaAxios(p.fetch).get(URL_ITEMS))) as AxiosError;
  assert.ok(axios.isAxiosError(error));
  assert.is(error.name, 'RateLimitError');
  assert.is(error.code, 'ERR_SLUICE_RATE_LIMITED');
  assert.is(error.status, 429);
  assert.is(error.message, '429 rate limited: GET https://api.example/v2/items (retry after 120s)');
  assert.is(error.response, undefined);
  assert.not.ok(isRateLimitError(error), 'the guards want the sluice error itself...');
  assert.ok(isRateLimitError(error.cause), '...which is `cause`');
});

test("axios: a network failure is sluice's NetworkError (code ERR_SLUICE_NETWORK), not axios's ERR_NETWORK", async () => {
  const p = pipeline({}, offline());
  const error = (await caught(viaAxios(p.fetch).post(URL_ITEMS, {}))) as AxiosError;
  assert.is(error.code, 'ERR_SLUICE_NETWORK');
  assert.is(error.name, 'NetworkError');
  assert.ok(isNetworkError(error.cause));
});

test('axios: with keepResponse, its own ERR_BAD_REQUEST AxiosError carries the response', async () => {
  const p = pipeline({ keepResponse: true }, unauthorized());
  const error = (await caught(viaAxios(p.fetch).get(URL_ITEMS))) as AxiosError;
  assert.instance(error, AxiosError);
  assert.is(error.code, 'ERR_BAD_REQUEST');
  assert.is(error.response?.status, 401);
  assert.equal(error.response?.data, { error: 'invalid token' });
});

test('axios: an abort arrives as CanceledError (ERR_CANCELED)', async () => {
  const p = pipeline({});
  const controller = new AbortController();
  controller.abort(new Error('mine'));
  const error = (await caught(viaAxios(p.fetch).get(URL_ITEMS, { signal: controller.signal }))) as AxiosError;
  assert.is(error.code, 'ERR_CANCELED');
  assert.ok(axios.isCancel(error));
});

test("axios: its error's JSON holds axios's config (the full URL); sluice's auth header is added below axios and never in it", async () => {
  const p = pipeline({}, unauthorized());
  const error = (await caught(viaAxios(p.fetch).get(`${URL_ITEMS}?page=2`))) as AxiosError;
  const text = JSON.stringify(error);
  assert.ok(text.includes('?page=2'));
  assert.not.ok(/authorization/i.test(text));
});

// All three: retry-429 works below them

test('under each client, retry-429 waits out a 429 and the caller only sees the 200', async () => {
  const ok = () => json({ items: [1] });
  const wait = () => json({}, { status: 429, headers: { 'retry-after': '3' } });
  const a = pipeline({}, wait(), ok());
  assert.equal(await drive(a.clock, ofetch.create({ retry: 0 }, { fetch: a.fetch })(URL_ITEMS)), { items: [1] });
  const b = pipeline({}, wait(), ok());
  assert.equal(await drive(b.clock, ky.create({ fetch: b.fetch, retry: 0, timeout: false }).get(URL_ITEMS).json()), { items: [1] });
  const c = pipeline({}, wait(), ok());
  assert.equal((await drive(c.clock, viaAxios(c.fetch).get(URL_ITEMS))).data, { items: [1] });
  for (const p of [a, b, c]) assert.is(p.transport.calls[1]!.at - p.transport.calls[0]!.at, 3000);
});

test.run();
