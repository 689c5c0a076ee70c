// The client of the streamed-upload measure, in a fresh Node process: raw fetch and the sluice pipeline, alternately,
// each POSTing a ReadableStream body (duplex: 'half') whose first chunk is there at once and whose rest comes only
// after the server has answered the first byte. A sample is the time from the call to that answer, on this process's
// clock. Prints one JSON line: { 'raw fetch': [ms...], sluice: [ms...] }.
// Usage: node --expose-gc test/bench/upload-client.mjs <base URL> <samples> <warm-up>
import { performance } from 'node:perf_hooks';
import { loadSluice } from './common.mjs';
import { API_KEY, NON_BINDING_LIMIT } from './contenders.mjs';

const [base, samples, warm] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const s = await loadSluice();
const sluice = s.core.compose([
  s.errorMap.errorMap(),
  s.retry429.retry429(),
  s.authToken.authToken({ baseUrl: base, apiKey: API_KEY }),
  s.rateLimit.rateLimit(NON_BINDING_LIMIT),
]);
const token = `Bearer tok_${'x'.repeat(40)}`;
const clients = {
  'raw fetch': (url, init) => fetch(url, { ...init, headers: { authorization: token } }),
  sluice,
};
const first = new Uint8Array(1024).fill(97);
const rest = new Uint8Array(64 * 1024).fill(98);

/** One upload: ms from the call until the server's answer to the first byte. */
async function upload(client) {
  let answered;
  const seen = new Promise((resolve) => (answered = resolve));
  const body = new ReadableStream({
    start: (controller) => controller.enqueue(first),
    async pull(controller) {
      // The rest waits for the answer, or a second: a client that held the body back would wait here that long.
      await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 1000))]);
      controller.enqueue(rest);
      controller.close();
    },
  });
  const started = performance.now();
  const response = await client(`${base}/upload`, { method: 'POST', body, duplex: 'half' });
  const ms = performance.now() - started;
  answered();
  await response.text();
  return ms;
}

const out = { 'raw fetch': [], sluice: [] };
for (let i = 0; i < warm + samples; i++) {
  // Alternate which goes first, so neither always follows the other.
  for (const name of i % 2 ? ['sluice', 'raw fetch'] : ['raw fetch', 'sluice']) {
    const ms = await upload(clients[name]);
    if (i >= warm) out[name].push(ms);
  }
}
await sluice.close();
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
