// 3d. Learnt limits: `rateLimit({ rules: 'auto' })`, given no limit, learns each key's policy from the server's answers.
// On virtual time, a burst against the scale section's server models (sliding log, fixed window, GCRA bucket) at 20 per
// 2 s and 60 per 60 s, each answering with one kind of evidence: the IETF RateLimit headers with RateLimit-Policy,
// X-RateLimit-*, only Retry-After on its 429s, or nothing at all. Then on real time, nginx `limit_req` 10 r/s without
// burst, which sends no rate-limit header at all.
// Usage: node test/bench/learn.mjs [--quick]
import { performance } from 'node:perf_hooks';
import { fmt, loadSluice, log, quick, report, table } from './common.mjs';
import { findNginx, freePort, nginxConfig, nginxPrefix, PROXY, startNginx, startUpstream, stopNginx } from './nginx.mjs';
import { burst, ORIGIN, START, seeded, serverOf, transportTo } from './scale-cells.mjs';
import { leastTime } from './scale-servers.mjs';
import { createHeapClock } from './vclock.mjs';

const COUNT = 300;
const LATENCY = { min: 25, max: 75 }; // ms each way, on virtual time
const KINDS = ['sliding', 'fixed', 'bucket'];
const POLICIES = quick
  ? [{ limit: 20, windowMs: 2000 }]
  : [
      { limit: 20, windowMs: 2000 },
      { limit: 60, windowMs: 60_000 },
    ];
const EVIDENCE = ['ietf', 'x-ratelimit', 'retry-after', 'nothing'];
// The issue's floors, per kind of evidence: most 429s in a cell, and most completion over the least time.
const FLOORS = {
  ietf: { refused: 0, ratio: 1.1, name: 'IETF RateLimit + RateLimit-Policy' },
  'x-ratelimit': { refused: 0, ratio: 1.1, name: 'X-RateLimit-*' },
  'retry-after': { refused: 3, ratio: 1.25, name: 'only Retry-After on 429s' },
  nothing: { refused: 5, ratio: 1.35, name: 'nothing (bare 429s)' },
};
// The scale section's server answers in a header form, with Retry-After on each 429; with nothing, that goes too.
const FORM = { ietf: 'ietf', 'x-ratelimit': 'x-ratelimit', 'retry-after': 'none', nothing: 'none' };
const NGINX = { rate: 10, upstreamMs: 20, count: quick ? 60 : COUNT };
// The least time through nginx: one request per 1/rate (the first at once), then the last one's upstream answer.
const NGINX_LEAST_MS = ((NGINX.count - 1) * 1000) / NGINX.rate + NGINX.upstreamMs;
// Real time: a run still going at this many times the least time is cut off (its requests left are counted, not waited
// for): learning that does not converge could otherwise take many minutes.
const NGINX_DEADLINE_TIMES = 4;
const NGINX_DEADLINE_MS = NGINX_DEADLINE_TIMES * NGINX_LEAST_MS;
const title = '3d. Learnt limits (no limit given)';

const KIND_NAME = { sliding: 'sliding log', fixed: 'fixed window', bucket: 'GCRA bucket' };

function windowName(ms) {
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${ms / 1000} s` : `${ms / 60_000} min`;
}

/** A learnt policy as "20/2000 ms (announced)". */
function describe(policy) {
  if (!policy) return 'none';
  if (policy.source === 'start') return `nothing learnt (${policy.inFlight ?? 'the quota followed'} in flight)`;
  // 'quota': what is left and when it resets, followed answer by answer, with no rule.
  if (!policy.rules.length) return `no rule (${policy.source})`;
  return `${policy.rules.map((r) => `${r.limit}/${r.windowMs} ms`).join(' + ')} (${policy.source})`;
}

const s = await loadSluice();

/** The server of a cell, answering with the evidence asked for. */
function serverWith(kind, evidence, { limit, windowMs }) {
  const server = serverOf(kind, FORM[evidence], limit, windowMs);
  if (evidence !== 'nothing') return server;
  return {
    answer(now) {
      const { status, headers } = server.answer(now);
      delete headers['retry-after'];
      return { status, headers };
    },
  };
}

/**
 * Runs `send(api)` through `rateLimit({ rules: 'auto' })` over `fetch`; `send` resolves with when its last request was
 * answered (on `now`'s time) and how many were not. A 429 is returned to the caller, not retried. The 429s are split by
 * when their request was sent: up to the last `rate-limit:learned` (while learning), or after it (let through by the
 * policy it settled on).
 */
async function learning({ fetch, clock, now, key, send }) {
  const limiter = s.rateLimit.rateLimit({ rules: 'auto' });
  const refusedSentAt = [];
  const t0 = now();
  const watched = async (...args) => {
    const sentAt = now();
    const response = await fetch(...args);
    if (response.status === 429) refusedSentAt.push(sentAt);
    if (process.env.LEARN_DEBUG && response.status === 429)
      console.log('   429 sent', ((sentAt - t0) / 1000).toFixed(3), 'at', ((now() - t0) / 1000).toFixed(3));
    return response;
  };
  const api = s.core.compose([limiter], { fetch: watched, clock });
  let settledAt = Number.NEGATIVE_INFINITY;
  let changes = 0;
  if (process.env.LEARN_DEBUG)
    api.events.on('rate-limit:learned', (e) => console.log('  ', ((now() - t0) / 1000).toFixed(2), e.evidence, JSON.stringify(e.policy)));
  api.events.on('rate-limit:learned', (event) => {
    if (!event.policy) return; // a token exchange counted: not this section's
    settledAt = now();
    changes++;
  });
  const { last, unfinished } = await send(api);
  await api.close();
  return {
    unfinished,
    refusedLearning: refusedSentAt.filter((at) => at <= settledAt).length,
    refusedAfter: refusedSentAt.filter((at) => at > settledAt).length,
    completionMs: last - t0,
    settledMs: changes ? settledAt - t0 : undefined,
    changes,
    policy: limiter.policyOf(key),
    policyOf: (other) => limiter.policyOf(other),
  };
}

async function virtualCell(kind, evidence, policy) {
  const clock = createHeapClock(START);
  const random = seeded(policy.limit * 31 + policy.windowMs);
  const leg = () => LATENCY.min + random() * (LATENCY.max - LATENCY.min);
  const result = await learning({
    fetch: transportTo(serverWith(kind, evidence, policy), clock, leg),
    clock,
    now: clock.now,
    key: ORIGIN,
    send: async (api) => ({ last: await burst(api, clock, COUNT), unfinished: 0 }),
  });
  const minimumMs = leastTime(kind, COUNT, policy.limit, policy.windowMs, LATENCY.min);
  const server = `${policy.limit}/${windowName(policy.windowMs)} ${KIND_NAME[kind]}`;
  return { server, kind, evidence, ...policy, ...result, minimumMs, ratio: result.completionMs / minimumMs };
}

// ── virtual time: the server models ──────────────────────────────────────────────────────────────────────────────
const cells = [];
for (const policy of POLICIES)
  for (const kind of KINDS)
    for (const evidence of EVIDENCE) {
      const cell = await virtualCell(kind, evidence, policy);
      cells.push(cell);
      log(
        `learn ${kind} ${policy.limit}/${policy.windowMs} ${evidence}: ${cell.refusedLearning} + ${cell.refusedAfter} 429s, ${cell.ratio.toFixed(3)}x, ${describe(cell.policy)}`,
      );
    }

// ── virtual time: two quotas one key is counted against, named (GitHub's X-RateLimit-Resource) or not ──────────────
// GitHub counts a token's requests against `core` (5000 an hour) and, apart, `search` (30 a minute), each answer naming
// its quota. Fixed windows aligned to the start, X-RateLimit-* stated; 600 requests over three core endpoints and 90
// searches, all at once. Named, each quota is learnt and counted apart; not named (the header stripped), as one key.
const NAMED_QUOTAS = [
  { name: 'core', limit: 5000, windowMs: 3_600_000, count: quick ? 150 : 600, paths: ['/repos/o/r/issues', '/repos/o/r/pulls', '/user'] },
  { name: 'search', limit: 30, windowMs: 60_000, count: quick ? 45 : 90, paths: ['/search/code'] },
];
// A day of virtual time bounds the run where the quotas are mixed (search's limit over core's hourly reset).
const NAMED_DEADLINE_MS = 86_400_000;

async function namedCell(named) {
  const clock = createHeapClock(START);
  const random = seeded(5000 + (named ? 1 : 0));
  const leg = () => LATENCY.min + random() * (LATENCY.max - LATENCY.min);
  const quotas = NAMED_QUOTAS.map((q) => ({ ...q, server: serverOf('fixed', 'x-ratelimit', q.limit, q.windowMs), done: 0, last: START }));
  const quotaOf = (url) => quotas.find((q) => q.paths.some((path) => url.includes(path)));
  const fetch = async (input) => {
    const quota = quotaOf(typeof input === 'string' ? input : input.url);
    await clock.sleep(leg());
    const { status, headers } = quota.server.answer(clock.now());
    if (named) headers['x-ratelimit-resource'] = quota.name;
    await clock.sleep(leg());
    return new Response(null, { status, headers });
  };
  const limiter = s.rateLimit.rateLimit({ rules: 'auto', maxQueue: 10_000 });
  const api = s.core.compose([limiter], { fetch, clock });
  const total = quotas.reduce((n, q) => n + q.count, 0);
  let settled = 0;
  for (const quota of quotas)
    for (let i = 0; i < quota.count; i++)
      api(`${ORIGIN}${quota.paths[i % quota.paths.length]}`).then(() => {
        quota.done++;
        quota.last = clock.now();
        settled++;
      });
  await clock.run(() => settled === total, { maxMs: NAMED_DEADLINE_MS });
  await api.close();
  return quotas.map((q) => ({
    quota: `${q.name}: ${q.limit} per ${windowName(q.windowMs)}, ${q.count} requests`,
    named,
    refused: q.server.refused,
    unfinished: q.count - q.done,
    completionMs: q.last - START,
    // Five in flight per endpoint (the client's default cap), or the quota's windows, at the least latency.
    minimumMs: Math.max(
      Math.ceil(q.count / (5 * q.paths.length)) * 2 * LATENCY.min,
      leastTime('fixed', q.count, q.limit, q.windowMs, LATENCY.min),
    ),
    policy: limiter.policyOf(named ? `${ORIGIN}#${q.name}` : ORIGIN),
  }));
}

const namedCells = [...(await namedCell(true)), ...(await namedCell(false))];
for (const c of namedCells)
  log(
    `learn ${c.named ? 'named' : 'not named'} ${c.quota}: ${c.refused} 429s, ${fmt.s(c.completionMs)}${c.unfinished ? ` (${c.unfinished} unfinished)` : ''}, ${describe(c.policy)}`,
  );

// ── virtual time: quotas stated per endpoint without a name (an API gateway's per-route limits) ───────────────────
// Three endpoints of one origin, each counted apart at its own limit per 2 s and stating it (X-RateLimit-* or the IETF
// headers), none naming its quota: 100 requests to each at once. Learnt as one key, the tightest endpoint's quota held
// back the others; once two endpoints are seen stating their own quotas side by side, each is learnt apart.
const STATED = { limits: [10, 20, 40], windowMs: 2000, count: quick ? 40 : 100 };

async function statedCell(kind, evidence) {
  const clock = createHeapClock(START);
  const random = seeded(6000 + KINDS.indexOf(kind) * 2 + (evidence === 'ietf' ? 1 : 0));
  const leg = () => LATENCY.min + random() * (LATENCY.max - LATENCY.min);
  const servers = STATED.limits.map((limit) => serverOf(kind, FORM[evidence], limit, STATED.windowMs));
  const fetch = async (input) => {
    const server = servers[Number((typeof input === 'string' ? input : input.url).at(-1))];
    await clock.sleep(leg());
    const { status, headers } = server.answer(clock.now());
    await clock.sleep(leg());
    return new Response(null, { status, headers });
  };
  const total = STATED.count * STATED.limits.length;
  const result = await learning({
    fetch,
    clock,
    now: clock.now,
    key: ORIGIN,
    send: async (api) => {
      let settled = 0;
      let last = START;
      for (let i = 0; i < total; i++)
        api(`${ORIGIN}/v2/e${i % STATED.limits.length}`).then(() => {
          settled++;
          last = clock.now();
        });
      await clock.run(() => settled === total, { maxMs: NAMED_DEADLINE_MS });
      return { last, unfinished: total - settled };
    },
  });
  const minimumMs = Math.max(...STATED.limits.map((limit) => leastTime(kind, STATED.count, limit, STATED.windowMs, LATENCY.min)));
  const quotas = result.policy?.quotas;
  const learnt = quotas
    ? [quotas.fallback, ...Object.values(quotas.endpoints)]
        .sort()
        .map((name) => `${name}: ${describe(result.policyOf(`${ORIGIN}#${name}`))}`)
    : [describe(result.policy)];
  return {
    server: `${STATED.limits.join(', ')} per ${windowName(STATED.windowMs)} ${KIND_NAME[kind]}`,
    evidence,
    ...result,
    minimumMs,
    ratio: result.completionMs / minimumMs,
    learnt,
  };
}

const statedCells = [];
for (const kind of ['fixed', 'sliding'])
  for (const evidence of ['x-ratelimit', 'ietf']) {
    const cell = await statedCell(kind, evidence);
    statedCells.push(cell);
    log(
      `learn stated per endpoint ${kind} ${evidence}: ${cell.refusedLearning + cell.refusedAfter} 429s, ${cell.ratio.toFixed(3)}x, ${cell.learnt.join('; ')}`,
    );
  }

// ── real time: nginx limit_req without burst ─────────────────────────────────────────────────────────────────────
const gateway = await nginxRun();

/** 300 requests (60 with --quick) at once through nginx `limit_req` at 10 r/s without burst; `{ problem }` without nginx. */
async function nginxRun() {
  const { bin, version, problem } = findNginx(log);
  if (!bin) {
    log(`nginx unavailable: ${problem}`);
    return { problem };
  }
  const app = await startUpstream(NGINX.upstreamMs);
  const port = await freePort();
  // Keyed by X-Bench-Client: the start-up probe, without it, is not counted (nginx skips an empty key).
  const { prefix, remove } = nginxPrefix((dir) =>
    nginxConfig(
      dir,
      app.address().port,
      `  limit_req_zone $http_x_bench_client zone=learn:1m rate=${NGINX.rate}r/s;
  limit_req_status 429;
  server { listen 127.0.0.1:${port}; location / { limit_req zone=learn; ${PROXY} } }`,
    ),
  );
  let nginx;
  try {
    nginx = await startNginx(bin, prefix, port);
    const base = `http://127.0.0.1:${port}`;
    const now = () => performance.now();
    const send = async (api) => {
      let last = now();
      let answered = 0;
      const headers = { 'x-bench-client': 'learn' };
      const paths = ['/v2/e0', '/v2/e1', '/v2/e2'];
      const all = Promise.all(
        Array.from({ length: NGINX.count }, (_, i) =>
          api(`${base}${paths[i % paths.length]}`, { headers }).then(
            async (response) => {
              await response.arrayBuffer();
              answered++;
              last = now();
            },
            () => {}, // cut off at the deadline: the limiter closed
          ),
        ),
      );
      let timer;
      const deadline = new Promise((resolve) => (timer = setTimeout(resolve, NGINX_DEADLINE_MS, false)));
      const finished = await Promise.race([all.then(() => true), deadline]);
      clearTimeout(timer);
      return { last: finished ? last : now(), unfinished: NGINX.count - answered };
    };
    const result = await learning({ fetch: globalThis.fetch, now, key: base, send });
    log(
      `learn nginx: ${result.refusedLearning} + ${result.refusedAfter} 429s, ${fmt.s(result.completionMs)}, ${result.unfinished} unfinished, ${describe(result.policy)}`,
    );
    const server = `nginx limit_req ${NGINX.rate}r/s, no burst`;
    return { server, evidence: 'nothing', version, ...result, minimumMs: NGINX_LEAST_MS, ratio: result.completionMs / NGINX_LEAST_MS };
  } finally {
    await stopNginx(nginx);
    app.closeAllConnections?.();
    app.close();
    remove();
  }
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────────────────────
const refusedIn = (c) => c.refusedLearning + c.refusedAfter;
// A run cut off at its deadline took longer than the figure shows.
const completion = (c) => (c.unfinished ? `> ${fmt.s(c.completionMs)} (${c.unfinished} unanswered)` : fmt.s(c.completionMs));
const overLeast = (c) => `${c.unfinished ? '> ' : ''}${fmt.x(c.ratio)}`;
// Cut off, a run may still have been learning: its last change is no convergence.
const convergedAt = (c) =>
  c.settledMs === undefined ? '–' : c.unfinished ? `not by the cut-off (last change at ${fmt.s(c.settledMs)})` : fmt.s(c.settledMs);
const row = (c) => [
  c.server,
  FLOORS[c.evidence].name,
  c.refusedLearning,
  c.refusedAfter,
  convergedAt(c),
  completion(c),
  fmt.s(c.minimumMs),
  overLeast(c),
  describe(c.policy),
];
const meets = (c, { refused, ratio }) => !c.unfinished && refusedIn(c) <= refused && c.ratio <= ratio;
const within = (ratio) => `${Math.round((ratio - 1) * 100)}%`;

/** The goal of one kind of evidence, over its worst cell: the most 429s and the slowest completion. */
function goalOf(evidence) {
  const floor = FLOORS[evidence];
  const mine = cells.filter((c) => c.evidence === evidence);
  const mostRefused = mine.reduce((a, b) => (refusedIn(b) > refusedIn(a) ? b : a));
  const slowest = mine.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  return {
    goal: `Learnt limits, ${floor.name}: ${floor.refused ? `at most ${floor.refused}` : 'no'} 429s and completion within ${within(floor.ratio)} of the least time, in every cell`,
    figure: `most ${refusedIn(mostRefused)} 429s (${mostRefused.server}, ${mostRefused.refusedAfter} after converging); slowest ${overLeast(slowest)} (${slowest.server})`,
    met: mine.every((c) => meets(c, floor)),
  };
}

// nginx gives no evidence but its 429s: the floors of nothing.
const gatewayGoal = {
  goal: `Learnt limits, nginx limit_req ${NGINX.rate}r/s without burst (no headers): at most ${FLOORS.nothing.refused} 429s and completion within ${within(FLOORS.nothing.ratio)} of the least time`,
  figure: gateway.problem
    ? `not run: ${gateway.problem}`
    : `${refusedIn(gateway)} 429s (${gateway.refusedAfter} after ${gateway.unfinished ? 'its last policy change' : 'converging'}), ${completion(gateway)} vs ${fmt.s(gateway.minimumMs)} (${overLeast(gateway)})`,
  met: gateway.problem ? null : meets(gateway, FLOORS.nothing),
};

const header = [
  'server',
  'evidence',
  '429s while learning',
  '429s after',
  'converged at',
  'completion',
  'least time',
  'over the least time',
  'learnt policy',
];
report({
  title,
  markdown: [
    `The client is given no limit: \`rateLimit({ rules: 'auto' })\`, every other option its default (5 in flight per endpoint); it learns the key's policy from the answers. ${COUNT} requests at once over 3 endpoints of one origin; a 429 is returned to the caller, not retried. On virtual time, against the scale section's server models counting on arrival (a sliding log, fixed windows aligned to the epoch, a GCRA bucket of burst \`limit\`) at ${POLICIES.map((p) => `${p.limit} per ${windowName(p.windowMs)}`).join(' and ')}, ${LATENCY.min} to ${LATENCY.max} ms each way (seeded), each answering with one kind of evidence: the IETF \`RateLimit\` header with \`RateLimit-Policy\`, \`X-RateLimit-*\` (no window stated), only \`Retry-After\` on its 429s (whole seconds until the model admits again, at least 1), or nothing (a bare 429). 429s while learning: to requests sent up to the last \`rate-limit:learned\` event (converged at: its time); after: to requests sent later, let through by the policy it settled on (of a run cut off, the policy it last held). Least time: as in the scale section, the greedy schedule at the least latency.`,
    '',
    table(header, cells.map(row)),
    '',
    gateway.problem
      ? `nginx: **not run** (${gateway.problem}).`
      : [
          `${gateway.version} on loopback, \`limit_req\` ${NGINX.rate} r/s without burst (\`limit_req_status 429\`, no rate-limit header, no Retry-After) in front of a node:http upstream answering in ${NGINX.upstreamMs} ms; ${NGINX.count} requests at once, real time, cut off at ${fmt.s(NGINX_DEADLINE_MS)} (${NGINX_DEADLINE_TIMES} times the least time). Least time: \`(n − 1)/rate\` plus the last answer's ${NGINX.upstreamMs} ms.`,
          '',
          table(header, [row(gateway)]),
        ].join('\n'),
    '',
    `Two quotas one key is counted against, as GitHub's \`core\` (5000 an hour) and \`search\` (30 a minute): fixed windows, \`X-RateLimit-*\` stated, ${NAMED_QUOTAS.map((q) => `${q.count} requests to ${q.name} (${q.paths.length} endpoint${q.paths.length > 1 ? 's' : ''})`).join(' and ')}, all at once, on virtual time. Named: each answer names its quota in \`X-RateLimit-Resource\`, and each is learnt and counted apart (\`<key>#<name>\`). Not named: the same server without that header, learnt as one key (cut off after a day). Least time: five requests in flight per endpoint (the client's default cap) or the quota's windows, at the least latency.`,
    '',
    table(
      ['quota', 'named', '429s', 'completion', 'least time', 'over the least time', 'learnt policy'],
      namedCells.map((c) => [
        c.quota,
        c.named ? 'yes' : 'no (one key)',
        c.refused,
        c.unfinished ? `> ${fmt.s(c.completionMs)} (${c.unfinished} unanswered)` : fmt.s(c.completionMs),
        fmt.s(c.minimumMs),
        `${c.unfinished ? '> ' : ''}${fmt.x(c.completionMs / c.minimumMs)}`,
        describe(c.policy),
      ]),
    ),
    '',
    `Quotas stated per endpoint without a name, as an API gateway's per-route limits: three endpoints of one origin, each counted apart at ${STATED.limits.join(', ')} per ${windowName(STATED.windowMs)}, each answer stating its endpoint's quota (\`X-RateLimit-*\`, or the IETF headers with \`RateLimit-Policy\`) and naming none; ${STATED.count} requests to each, all at once, on virtual time. Once two endpoints are seen stating their own quotas side by side (three answers each), each quota stated is learnt and counted apart (\`<key>#stated-<limit>\`). Least time: the tightest endpoint's, alone, at the least latency.`,
    '',
    table(
      ['server', 'evidence', '429s', 'completion', 'least time', 'over the least time', 'learnt policies'],
      statedCells.map((c) => [
        c.server,
        FLOORS[c.evidence].name,
        refusedIn(c),
        completion(c),
        fmt.s(c.minimumMs),
        overLeast(c),
        c.learnt.join('; '),
      ]),
    ),
  ].join('\n'),
  goals: [...EVIDENCE.map(goalOf), gatewayGoal],
  data: { cells, nginx: gateway, named: namedCells, stated: statedCells },
});
