// 3a. Limit efficiency against the simulator: a cold-start burst over 3 endpoints against @sluice/mock-server's
// limits (60 requests per minute per key, 5 in flight per endpoint), on virtual time, for each counting algorithm.
// sluice runs with the preset's defaults; the peers retry 429s (up to 10 times, honouring Retry-After).
// Usage: node test/bench/limits.mjs [--quick]
import { fmt, loadSluice, log, quick, report, table } from './common.mjs';
import { createContender, overWire, PEERS } from './contenders.mjs';
import { installVirtualTime } from './vtime.mjs';

const s = await loadSluice();
const BASE = 'https://tenant.cyberhaven.io';
const n = quick ? 120 : 300;
const LIMIT = 60;
const WINDOW = 60_000;
const LATENCY = { min: 5, max: 50 };
const START = Date.UTC(2026, 0, 1); // a minute boundary: a fixed window starts with the burst
const specs = [
  (i) => ({ url: `${BASE}/v2/event-details?ids=evt_${i}` }),
  () => ({ url: `${BASE}/v2/admin/api-keys` }),
  () => ({ url: `${BASE}/v2/incidents/list`, method: 'POST', body: { page_request: { size: 1 } } }),
];

// The least time any client could take, from the least latency and no concurrency cap: the token exchange counts,
// so `n + 1` requests. Sliding log, or a fixed window entered at its start: floor(n / N) windows. Token bucket
// (burst N, N per window): the burst, then one per W / N.
const minimum = {
  'sliding-log': Math.floor(n / LIMIT) * WINDOW + LATENCY.min,
  'fixed-window': Math.floor(n / LIMIT) * WINDOW + LATENCY.min,
  'token-bucket': ((n + 1 - LIMIT) * WINDOW) / LIMIT + LATENCY.min,
};

// sluice's rate-limit per server: the defaults (a sliding log, safe whatever the server counts), except against the
// token bucket, where it is told the bucket: `{ limit, windowMs, burst }` follows the refill instead of whole windows.
const sluiceRateLimit = {
  'token-bucket': { rules: [{ limit: LIMIT, windowMs: WINDOW, burst: LIMIT }] },
};

async function burst(name, algorithm) {
  const vt = installVirtualTime(START);
  try {
    const server = s.mock.createMockServer({ clock: vt.clock, algorithm, latencyMs: LATENCY, seed: 7 });
    const t0 = vt.clock.now();
    // For the charts: when each request settled and when each 429 came back, ms after the burst.
    const completions = [];
    const rejections = [];
    const wire = overWire(server.handler);
    const contender = createContender(name, {
      base: BASE,
      fetch: async (input, init) => {
        const response = await wire(input, init);
        if (response.status === 429) rejections.push(vt.clock.now() - t0);
        return response;
      },
      retries: 10,
      sluice: { packages: s, clock: vt.clock, rateLimit: sluiceRateLimit[algorithm] },
    });
    let settled = 0;
    let failed = 0;
    let last = t0;
    for (let i = 0; i < n; i++) {
      contender
        .send(specs[i % specs.length](i))
        .catch(() => failed++)
        .finally(() => {
          settled++;
          last = vt.clock.now();
          completions.push(last - t0);
        });
    }
    await vt.run(() => settled === n, { maxMs: 4 * 3_600_000 });
    const stats = server.stats();
    await contender.close?.();
    await server.close();
    return { name, algorithm, completionMs: last - t0, failed, stats, completions, rejections };
  } finally {
    vt.uninstall();
  }
}

const results = [];
for (const algorithm of Object.keys(minimum)) {
  for (const name of ['sluice', ...PEERS]) {
    const r = await burst(name, algorithm);
    results.push(r);
    log(`limits ${algorithm} ${name}: ${r.stats.rateLimited} 429s, ${r.failed} failed, ${fmt.s(r.completionMs)}`);
  }
}

const rows = results.map((r) => {
  const min = minimum[r.algorithm];
  const by = r.stats.rateLimitedBy;
  return [
    r.algorithm,
    r.name,
    `${r.stats.rateLimited} (${by.rate} rate, ${by.concurrency} concurrency)`,
    r.failed,
    r.stats.requests,
    fmt.s(r.completionMs),
    fmt.s(min),
    fmt.pct(r.completionMs / min - 1),
  ];
});
const sluice = results.filter((r) => r.name === 'sluice');
const over = (r) => r.completionMs / minimum[r.algorithm] - 1;
report({
  title: '3a. Limit efficiency against the simulator (virtual time)',
  markdown: [
    `${n} requests at once (cold start: the token exchange makes ${n + 1}) over 3 endpoints (GET event-details, GET admin/api-keys, POST incidents/list) against \`createMockServer({ algorithm, latencyMs: 5–50 })\`: 60 requests per minute per key, 5 in flight per endpoint, the exchange counted. sluice: \`[errorMap(), retry429(), authToken(), rateLimit()]\` with their defaults, except against the token bucket, where rate-limit is told the bucket: \`rules: [{ limit: ${LIMIT}, windowMs: ${WINDOW}, burst: ${LIMIT} }]\`. Peers: their 429 retry configured for 10 retries (ky and Azure honour Retry-After themselves, axios-retry's \`exponentialDelay\` takes the larger of Retry-After and its backoff, ofetch gets a Retry-After-aware \`retryDelay\`), tokens from a shared single-flight cache (Azure: its bearer policy). Completion: from the burst to the last settled request, in virtual time; minimum: ${'`floor(n/N)·W`'} for a sliding log or a fixed window entered at its start, ${'`(n + 1 - N)·W/N`'} for a token bucket, plus the least latency.`,
    '',
    table(
      ['server', 'contender', '429s received', 'failed', 'requests sent', 'completion', 'theoretical minimum', 'over the minimum'],
      rows,
    ),
  ].join('\n'),
  goals: [
    {
      goal: 'Limit efficiency (simulator): zero 429s in every burst',
      figure: sluice.map((r) => `${r.algorithm} ${r.stats.rateLimited}`).join(', '),
      met: sluice.every((r) => r.stats.rateLimited === 0 && r.failed === 0),
    },
    ...sluice.map((r) => ({
      goal: `Limit efficiency (simulator, ${r.algorithm}): completion within 5% of the minimum`,
      figure: `${fmt.s(r.completionMs)} vs ${fmt.s(minimum[r.algorithm])} (${fmt.pct(over(r))})`,
      met: over(r) <= 0.05,
    })),
  ],
  data: results.map(({ stats, ...r }) => ({
    ...r,
    rateLimited: stats.rateLimited,
    requests: stats.requests,
    minimumMs: minimum[r.algorithm],
  })),
});
