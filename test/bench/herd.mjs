// 4. Token herd: token exchanges caused by 10,000 concurrent cold-start requests, by two simulated hours of
// steady load (3 concurrent requests every second, 900 s tokens), and by steady load through many lifetimes of
// tokens of 3 s, 60 s, 15 min and 24 h (sluice alone), against the simulator on virtual time.
// Usage: node test/bench/herd.mjs [--quick]
import { fmt, loadSluice, log, quick, report, table } from './common.mjs';
import { createContender, NON_BINDING_LIMIT, overWire, TOKEN_PATH } from './contenders.mjs';
import { installVirtualTime } from './vtime.mjs';

const s = await loadSluice();
const BASE = 'https://tenant.cyberhaven.io';
const COLD = quick ? 2_000 : 10_000;
const HOURS = quick ? 0.5 : 2;
const PER_SECOND = 3;
const LATENCY = 20;
const TTL = 900_000;

const contenders = [
  { label: 'sluice (auth-token)', name: 'sluice' },
  { label: '@azure/core-rest-pipeline (bearer policy)', name: 'azure' },
  { label: 'ky + hand-written single-flight refresher', name: 'ky', refresher: 'shared' },
  { label: 'ky + naive refresher (no single flight)', name: 'ky', refresher: 'naive' },
];

// Tokens of every lifetime, each with steady traffic dense enough for its refresh to start well before the token goes
// stale: a request every `everyMs`, for `lives` lifetimes.
const LIFETIMES = [
  { label: '3 s', ttl: 3_000, everyMs: 100, lives: quick ? 20 : 100 },
  { label: '60 s', ttl: 60_000, everyMs: 1_000, lives: quick ? 5 : 50 },
  { label: '15 min', ttl: 900_000, everyMs: 1_000, lives: quick ? 2 : 8 },
  { label: '24 h', ttl: 86_400_000, everyMs: 60_000, lives: quick ? 2 : 10 },
];

async function run(c, drive, ttl = TTL) {
  const vt = installVirtualTime();
  try {
    // No rate or concurrency limit: only the tokens are measured.
    const server = s.mock.createMockServer({
      clock: vt.clock,
      limit: 1e9,
      concurrency: 1e9,
      latencyMs: LATENCY,
      tokenTtlMs: ttl,
      maxTokens: 100_000,
    });
    const exchanges = [];
    const handler = (request) => {
      if (request.method === 'POST' && new URL(request.url).pathname === TOKEN_PATH) exchanges.push(vt.clock.now());
      return server.handler(request);
    };
    const contender = createContender(c.name, {
      base: BASE,
      fetch: overWire(handler),
      retries: 3,
      refresher: c.refresher,
      sluice: { packages: s, clock: vt.clock, rateLimit: NON_BINDING_LIMIT },
    });
    const result = await drive(vt, contender);
    const stats = server.stats();
    await contender.close?.();
    await server.close();
    const unauthorized = Object.values(stats.unauthorized).reduce((a, b) => a + b, 0);
    return { ...result, exchanges, unauthorized };
  } finally {
    vt.uninstall();
  }
}

// Every request at once, on a cold cache.
const coldStart = (vt, contender) => {
  let settled = 0;
  let failed = 0;
  for (let i = 0; i < COLD; i++) {
    contender
      .send({ url: `${BASE}/v2/event-details?ids=evt_${i}` })
      .catch(() => failed++)
      .finally(() => settled++);
  }
  return vt.run(() => settled === COLD).then(() => ({ failed }));
};

// `perTick` requests at once, every `everyMs`, `ticks` times; a request after the first tick that takes longer than 1.5
// round trips waited for a token.
const steadyTraffic =
  ({ perTick, everyMs, ticks }) =>
  async (vt, contender) => {
    const total = ticks * perTick;
    let sent = 0;
    let settled = 0;
    let failed = 0;
    let waited = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < perTick && sent < total; i++, sent++) {
        const at = vt.clock.now();
        const cold = sent < perTick;
        contender
          .send({ url: `${BASE}/v2/event-details?ids=evt_${sent}` })
          .then(
            () => {
              if (!cold && vt.clock.now() - at > 1.5 * LATENCY) waited++;
            },
            () => failed++,
          )
          .finally(() => settled++);
      }
      if (sent >= total) clearInterval(timer);
    }, everyMs);
    await vt.run(() => settled === total && sent === total);
    return { failed, waited, total };
  };

// PER_SECOND requests at once, every second, for HOURS.
const steady = steadyTraffic({ perTick: PER_SECOND, everyMs: 1000, ticks: Math.round(HOURS * 3600) });

const cold = [];
const hours = [];
for (const c of contenders) {
  const a = await run(c, coldStart);
  cold.push({ ...c, ...a });
  log(`herd cold start ${c.label}: ${a.exchanges.length} exchanges`);
  const b = await run(c, steady);
  hours.push({ ...c, ...b });
  log(`herd ${HOURS} h ${c.label}: ${b.exchanges.length} exchanges, ${b.waited} waited, ${b.unauthorized} 401s`);
}

const sluice = contenders[0];
const span = (ms) =>
  ms >= 86_400_000
    ? `${ms / 86_400_000} days`
    : ms >= 3_600_000
      ? `${ms / 3_600_000} h`
      : ms >= 60_000
        ? `${ms / 60_000} min`
        : `${ms / 1000} s`;
const lifetimes = [];
for (const l of LIFETIMES) {
  const r = await run(sluice, steadyTraffic({ perTick: 1, everyMs: l.everyMs, ticks: (l.lives * l.ttl) / l.everyMs }), l.ttl);
  // Exchanges after the first, per lifetime of traffic.
  const perLifetime = (r.exchanges.length - 1) / l.lives;
  lifetimes.push({ ...l, ...r, perLifetime });
  log(
    `herd ${l.label} tokens: ${r.exchanges.length} exchanges (${perLifetime.toFixed(3)} per lifetime), ${r.waited} waited, ${r.unauthorized} 401s`,
  );
}

// One exchange per token lifetime: sluice refreshes 20% before expiry (720 s of a 900 s token), so the exchanges are
// the cold start plus one every 720 s. Duplicates: exchanges less than half a lifetime after the previous one.
const seconds = HOURS * 3600;
const sluiceExpected = Math.ceil(seconds / ((TTL * 0.8) / 1000));
const duplicates = (times) => times.filter((t, i) => i > 0 && t - times[i - 1] < TTL / 2).length;
const gaps = (times) => times.slice(1).map((t, i) => (t - times[i]) / 1000);
const sc = cold.find((r) => r.name === 'sluice');
const sh = hours.find((r) => r.name === 'sluice');
report({
  title: '4. Token herd (simulator, virtual time)',
  markdown: [
    `Tokens live ${TTL / 1000} s; the simulator answers in ${LATENCY} ms and limits nothing here. sluice: the full pipeline (its limiter not binding). Peers: Azure's bearer policy with a credential doing the exchange; ky with the hand-written refresher of \`test/bench/refresher.mjs\` (single flight, or naive), both using the token until 30 s before expiry.`,
    '',
    `**Cold start: ${fmt.int(COLD)} concurrent requests**`,
    '',
    table(
      ['contender', 'token exchanges', 'failed requests'],
      cold.map((r) => [r.label, fmt.int(r.exchanges.length), r.failed]),
    ),
    '',
    `**${HOURS} simulated hours: ${PER_SECOND} concurrent requests every second (${fmt.int(hours[0].total)} requests)**`,
    '',
    table(
      [
        'contender',
        'token exchanges',
        'duplicate exchanges',
        'seconds between exchanges',
        'requests that waited for a token (after the first)',
        '401s',
        'failed',
      ],
      hours.map((r) => {
        const g = gaps(r.exchanges);
        const range = g.length ? `${Math.min(...g).toFixed(0)} – ${Math.max(...g).toFixed(0)}` : '';
        return [r.label, r.exchanges.length, duplicates(r.exchanges), range, r.waited, r.unauthorized, r.failed];
      }),
    ),
    '',
    `**Tokens of every lifetime: sluice, one request every 100 ms (3 s tokens), 1 s (60 s, 15 min) or 60 s (24 h)**`,
    '',
    table(
      [
        'token life',
        'simulated time',
        'requests',
        'token exchanges',
        'exchanges per lifetime (after the first)',
        'requests that waited (after the first)',
        '401s',
        'failed',
      ],
      lifetimes.map((r) => [
        r.label,
        span(r.lives * r.ttl),
        fmt.int(r.total),
        r.exchanges.length,
        r.perLifetime.toFixed(3),
        r.waited,
        r.unauthorized,
        r.failed,
      ]),
    ),
  ].join('\n'),
  goals: [
    {
      goal: `Token herd: one exchange for ${fmt.int(COLD)} cold-start requests`,
      figure: `${sc.exchanges.length} exchange(s), ${sc.failed} failed`,
      met: sc.exchanges.length === 1 && sc.failed === 0,
    },
    {
      goal: `Token herd: exactly one exchange per token over ${HOURS} h (no duplicate, no request waiting)`,
      figure: `${sh.exchanges.length} exchanges, one per ${(TTL * 0.8) / 1000} s refresh period (${sluiceExpected} expected; ${((sh.exchanges.length * TTL) / (seconds * 1000)).toFixed(2)} per ${TTL / 1000} s of token life), ${duplicates(sh.exchanges)} duplicates, ${sh.waited} requests waited, ${sh.unauthorized} 401s`,
      met:
        sh.exchanges.length === sluiceExpected &&
        duplicates(sh.exchanges) === 0 &&
        sh.waited === 0 &&
        sh.unauthorized === 0 &&
        sh.failed === 0,
    },
    ...lifetimes.map((r) => ({
      goal: `Token refresh, ${r.label} tokens: at most 1.3 exchanges per lifetime, 0 waited, 0 401s`,
      figure: `${r.perLifetime.toFixed(3)} exchanges per lifetime (${r.exchanges.length} over ${r.lives} lifetimes), ${r.waited} waited, ${r.unauthorized} 401s, ${r.failed} failed`,
      met: r.perLifetime <= 1.3 && r.waited === 0 && r.unauthorized === 0 && r.failed === 0,
    })),
  ],
  data: {
    cold,
    hours: hours.map((r) => ({ ...r, gaps: gaps(r.exchanges) })),
    lifetimes: lifetimes.map((r) => ({ ...r, gaps: gaps(r.exchanges) })),
  },
});
