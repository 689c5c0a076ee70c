// 1. Per-request overhead: each contender sends GETs one after another to an in-process transport that answers at
// once, so what is timed is the client's own work (plus the Request and Response every contender pays for alike).
// Usage: node --expose-gc test/bench/overhead.mjs [--quick] [--only <contender>] [--n <requests per sample>]

import { arg, fmt, gc, loadSluice, log, quick, report, summary, table, timeSequential } from './common.mjs';
import { CONTENDERS, checkJob, createContender, fetchOver, NON_BINDING_LIMIT } from './contenders.mjs';

const s = await loadSluice();
const BASE = 'https://api.example';
const spec = { url: `${BASE}/v2/items` };
const TOKEN = JSON.stringify({ access_token: `tok_${'x'.repeat(40)}`, expires_in: 86_400 });
const init = { status: 200, headers: { 'content-type': 'application/json' } };
// Answers at once: the token exchange (the only POST), else a small JSON body.
const transport = (request) => new Response(request.method === 'POST' ? TOKEN : '{"ok":true}', init);

/** The rate limiter is in the pipeline but cannot bind: no rule counts and no endpoint is capped. */
const world = (fetch) => ({ base: BASE, fetch, retries: 3, sluice: { packages: s, rateLimit: NON_BINDING_LIMIT } });

const only = arg('only');
const names = only ? [only] : CONTENDERS;
const n = Number(arg('n') ?? (quick ? 2_000 : 5_000));
const rounds = quick ? 3 : 7;

for (const name of names) await checkJob(name, (fetch) => world(fetch));
const contenders = Object.fromEntries(names.map((name) => [name, createContender(name, world(fetchOver(transport)))]));
const send = (c) => () => c.send(spec);

// Warm-up: tokens cached, code optimised.
for (const name of names) await timeSequential(send(contenders[name]), Math.max(2_000, n / 4));

const samples = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  // Rotate the order so no contender always runs first (or right after the same one).
  const order = names.map((_, i) => names[(i + round) % names.length]);
  for (const name of order) {
    gc();
    samples[name].push(await timeSequential(send(contenders[name]), n));
  }
  log(`overhead round ${round + 1}/${rounds}: ${names.map((name) => `${name} ${fmt.int(samples[name].at(-1))} ns`).join(', ')}`);
}
for (const c of Object.values(contenders)) await c.close?.();

if (only) {
  log(`${only}: ${fmt.int(summary(samples[only]).median)} ns per request`);
  process.exit(0);
}

// Ratios are taken within a round, then summarised: the machine's drift cancels out.
const ratios = Object.fromEntries(names.map((name) => [name, samples[name].map((ns, r) => ns / samples['raw fetch'][r])]));
const stats = Object.fromEntries(names.map((name) => [name, { ns: summary(samples[name]), ratio: summary(ratios[name]) }]));
const rows = names.map((name) => {
  const { ns, ratio } = stats[name];
  return [
    name,
    fmt.int(ns.median),
    `${fmt.int(ns.min)} – ${fmt.int(ns.max)}`,
    `${fmt.int(ns.q1)} – ${fmt.int(ns.q3)}`,
    fmt.x(ratio.median),
    `${fmt.x(ratio.min)} – ${fmt.x(ratio.max)}`,
    fmt.int(1e9 / ns.median),
  ];
});
const peers = names.filter((name) => name !== 'raw fetch' && name !== 'sluice');
const fastestPeer = peers.reduce((a, b) => (stats[a].ns.median <= stats[b].ns.median ? a : b));
const sluice = stats.sluice;
report({
  title: '1. Per-request overhead (in-process transport)',
  markdown: [
    `${rounds} rounds of ${fmt.int(n)} sequential GETs per contender, order rotated each round; median, range and interquartile range over rounds. Ratio to raw fetch taken within each round. Every contender builds a Request, gets a new Response and reads its body as text.`,
    '',
    table(['contender', 'ns/request (median)', 'min – max', 'IQR', 'ratio to raw fetch', 'ratio min – max', 'requests/s'], rows),
  ].join('\n'),
  goals: [
    {
      goal: 'Overhead: lowest of all contenders',
      figure: `sluice ${fmt.int(sluice.ns.median)} ns vs fastest peer ${fastestPeer} ${fmt.int(stats[fastestPeer].ns.median)} ns`,
      met: sluice.ns.median < stats[fastestPeer].ns.median,
    },
    {
      goal: 'Overhead: at most 1.5x raw fetch',
      figure: `${fmt.x(sluice.ratio.median)} (rounds ${fmt.x(sluice.ratio.min)} – ${fmt.x(sluice.ratio.max)})`,
      met: sluice.ratio.median <= 1.5,
    },
  ],
  data: stats,
});
