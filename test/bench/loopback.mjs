// 2. Requests per second over loopback HTTP to a local node:http server in its own process, one request at a time
// and 64 at a time; then how soon a streamed upload's first byte reaches the server (loopback-upload.mjs). Each client uses what it uses by default on Node: fetch (undici) for raw fetch, ky, ofetch
// and sluice; axios its http adapter; Azure its Node http client. Each sample is one contender alone in a fresh
// process (loopback-client.mjs) after its own warm-up; rounds run every contender once, in a rotated order.
// Usage: node --expose-gc test/bench/loopback.mjs [--quick] [--only "raw fetch,sluice"]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { arg, fmt, loadSluice, log, quick, report, summary, table } from './common.mjs';
import { CONTENDERS, checkJob } from './contenders.mjs';
import { modes, rounds, warmUp, world } from './loopback-plan.mjs';
import { measureUpload } from './loopback-upload.mjs';

const only = arg('only')?.split(',');
const names = only ? CONTENDERS.filter((name) => name === 'raw fetch' || only.includes(name)) : CONTENDERS;
const server = spawn(process.execPath, [new URL('./http-server.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [chunk] = await once(server.stdout, 'data');
const base = `http://127.0.0.1:${String(chunk).trim()}`;

/** Runs one contender in a fresh process; resolves with its samples per mode. */
async function runClient(name) {
  const client = spawn(
    process.execPath,
    ['--expose-gc', new URL('./loopback-client.mjs', import.meta.url).pathname, name, base, ...(quick ? ['--quick'] : [])],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let out = '';
  client.stdout.on('data', (data) => (out += data));
  const [code] = await once(client, 'close');
  if (code !== 0) throw new Error(`loopback client ${name} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1));
}

try {
  const s = await loadSluice();
  for (const name of names) await checkJob(name, (fetch) => world(base, s, name, fetch));
  await runClient('raw fetch'); // warms the server's own code; discarded
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length])) samples[name].push(await runClient(name));
    for (const mode of modes)
      log(
        `loopback ${mode.name} round ${round + 1}/${rounds}: ${names.map((name) => `${name} ${fmt.int(samples[name][round][mode.name].rps)}/s`).join(', ')}`,
      );
  }

  const sections = [];
  const goals = [];
  const chartData = {}; // per mode and contender: requests per second and the ratio to raw fetch, summarised over rounds
  for (const mode of modes) {
    const of = (name, field) => samples[name].map((sample) => sample[mode.name][field]);
    const ratio = (name) => summary(of(name, 'rps').map((r, i) => r / of('raw fetch', 'rps')[i]));
    const rows = names.map((name) => {
      const rps = summary(of(name, 'rps'));
      const r = ratio(name);
      const cpu = summary(of(name, 'cpuUs'));
      return [
        name,
        fmt.int(rps.median),
        `${fmt.int(rps.min)} – ${fmt.int(rps.max)}`,
        fmt.x(r.median),
        `${fmt.x(r.min)} – ${fmt.x(r.max)}`,
        fmt.int(cpu.median),
      ];
    });
    chartData[mode.name] = Object.fromEntries(names.map((name) => [name, { rps: summary(of(name, 'rps')), ratio: ratio(name) }]));
    const header = ['contender', 'requests/s (median)', 'min – max', 'ratio to raw fetch', 'ratio min – max', 'client CPU µs/request'];
    sections.push(`**${mode.name}** (${rounds} rounds of ${fmt.int(mode.n)} requests)\n\n${table(header, rows)}`);
    if (!names.includes('sluice')) continue;
    const r = ratio('sluice');
    goals.push({
      goal: `Loopback throughput, ${mode.name}: at least 0.95x raw fetch`,
      figure: `${fmt.x(r.median)} (rounds ${fmt.x(r.min)} – ${fmt.x(r.max)})`,
      met: r.median >= 0.95,
    });
  }
  if (names.includes('sluice')) {
    const upload = await measureUpload();
    log(upload.goal.figure);
    sections.push(upload.markdown);
    goals.push(upload.goal);
  }
  const warm = warmUp
    .map(({ parallel, n }) => `${fmt.int(n)} ${parallel === 1 ? 'one at a time' : `${parallel} at a time`}`)
    .join(', then ');
  report({
    title: '2. Throughput over loopback HTTP',
    markdown: [
      `A node:http server in its own process answers at once with a small JSON body (keep-alive). raw fetch, ky, ofetch and sluice use the global fetch (undici); axios its default http adapter; Azure its default Node http client. Each sample is one contender alone in a fresh Node process, timed after its own untimed warm-up (${warm}); each round runs every contender once, in a rotated order, and the ratio to raw fetch is taken within each round. Client CPU: the client process's CPU time (all threads) per request, median over rounds.`,
      '',
      sections.join('\n\n'),
    ].join('\n'),
    goals,
    data: { rounds, modes: chartData },
  });
} finally {
  server.kill('SIGTERM');
}
