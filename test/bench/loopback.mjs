// 2. Requests per second over loopback HTTP to a local node:http server in its own process, one request at a time
// and 64 at a time. Each client uses what it uses by default on Node: fetch (undici) for raw fetch, ky, ofetch
// and sluice; axios its http adapter; Azure its Node http client.
// Usage: node --expose-gc test/bench/loopback.mjs [--quick]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fmt, gc, loadSluice, log, quick, report, summary, table } from './common.mjs';
import { CONTENDERS, checkJob, createContender } from './contenders.mjs';

const s = await loadSluice();
const sluiceOptions = { rateLimit: { rules: [{ limit: Infinity, windowMs: 60_000 }], concurrency: Infinity } };

const child = spawn(process.execPath, [new URL('./http-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [chunk] = await once(child.stdout, 'data');
const base = `http://127.0.0.1:${String(chunk).trim()}`;
const spec = { url: `${base}/v2/items` };

try {
  const world = (fetch) => ({ base, fetch, retries: 3, sluice: { packages: s, ...sluiceOptions } });
  for (const name of CONTENDERS) await checkJob(name, (fetch) => world(fetch));
  // Over HTTP: axios and Azure keep their own Node transports (null), the others the global fetch (undefined).
  const contenders = Object.fromEntries(
    CONTENDERS.map((name) => [name, createContender(name, world(name === 'axios' || name === 'azure' ? null : undefined))]),
  );

  const modes = [
    { name: 'sequential', parallel: 1, n: quick ? 200 : 500 },
    { name: '64 in parallel', parallel: 64, n: quick ? 640 : 1_920 },
  ];
  const rounds = quick ? 3 : 5;

  async function rate(contender, { parallel, n }) {
    const per = n / parallel;
    const worker = async () => {
      for (let i = 0; i < per; i++) await contender.send(spec);
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: parallel }, worker));
    return (n * 1000) / (performance.now() - start);
  }

  const sections = [];
  const goals = [];
  for (const mode of modes) {
    for (const name of CONTENDERS) await rate(contenders[name], { parallel: mode.parallel, n: Math.min(mode.n, 640) }); // warm-up
    const samples = Object.fromEntries(CONTENDERS.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
      for (const name of order) {
        gc();
        samples[name].push(await rate(contenders[name], mode));
      }
      log(
        `loopback ${mode.name} round ${round + 1}/${rounds}: ${CONTENDERS.map((name) => `${name} ${fmt.int(samples[name].at(-1))}/s`).join(', ')}`,
      );
    }
    const ratio = (name) => summary(samples[name].map((r, i) => r / samples['raw fetch'][i]));
    const rows = CONTENDERS.map((name) => {
      const rps = summary(samples[name]);
      const r = ratio(name);
      return [name, fmt.int(rps.median), `${fmt.int(rps.min)} – ${fmt.int(rps.max)}`, fmt.x(r.median), `${fmt.x(r.min)} – ${fmt.x(r.max)}`];
    });
    sections.push(
      `**${mode.name}** (${rounds} rounds of ${fmt.int(mode.n)} requests)\n\n${table(['contender', 'requests/s (median)', 'min – max', 'ratio to raw fetch', 'ratio min – max'], rows)}`,
    );
    const r = ratio('sluice');
    goals.push({
      goal: `Loopback throughput, ${mode.name}: at least 0.95x raw fetch`,
      figure: `${fmt.x(r.median)} (rounds ${fmt.x(r.min)} – ${fmt.x(r.max)})`,
      met: r.median >= 0.95,
    });
  }
  for (const c of Object.values(contenders)) await c.close?.();
  report({
    title: '2. Throughput over loopback HTTP',
    markdown: [
      'A node:http server in a child process answers at once with a small JSON body (keep-alive). raw fetch, ky, ofetch and sluice use the global fetch (undici); axios its default http adapter; Azure its default Node http client. Ratio to raw fetch taken within each round.',
      '',
      sections.join('\n\n'),
    ].join('\n'),
    goals,
  });
} finally {
  child.kill('SIGTERM');
}
