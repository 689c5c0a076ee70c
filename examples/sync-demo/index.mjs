// The main job: sync every incident and its events through @sluice/cyberhaven, against the local simulator (default) or,
// with CYBERHAVEN_BASE_URL and CYBERHAVEN_API_KEY set, read-only against a real tenant. Run: node examples/sync-demo/index.mjs
import { createCyberhavenClient } from '@sluice/cyberhaven';
import { demoKeys } from '@sluice/mock-server';
import { serve } from '@sluice/mock-server/node';
import { recordEvents } from '@sluice/report';
import { createLive, watchEvents } from './live.mjs';
import { reportArgs, writeReports } from './report.mjs';
import { createRecorder, formatSummary, summarize } from './stats.mjs';
import { newCounts, sync } from './sync.mjs';

// Server time runs 12x: a minute passes in 5 s, so the API's 60 requests a minute bind within seconds.
const TIME_SCALE = 12;
// Tokens live 15 minutes on the real API, 75 s at this scale: too long to see a refresh. 5 minutes is 25 s here, and the
// token is refreshed in the background once a fifth of that is left (at 20 s).
const TOKEN_TTL_MS = 300_000;
const STORM_AFTER_REQUESTS = 120;
const STORM_MS = 600;
const WORKLOAD = { batch: 25, workers: 20 };

/** A real tenant, read-only: the first 100 incidents and their events. The key is read at each exchange, never printed. */
function tenantSetup(baseUrl) {
  return {
    mode: 'tenant',
    client: { baseUrl, apiKey: () => process.env.CYBERHAVEN_API_KEY ?? '' },
    limit: { limit: 60, windowMs: 60_000 },
    work: { ...WORKLOAD, pageSize: 50, maxIncidents: 100 },
    intro: [`sluice sync demo against ${new URL(baseUrl).host}: read-only calls, the first 100 incidents and their events`],
  };
}

async function simulatorSetup() {
  const served = await serve({
    port: 0,
    host: '127.0.0.1',
    timeScale: TIME_SCALE,
    tokenTtlMs: TOKEN_TTL_MS,
    latencyMs: { min: 40, max: 160 },
  });
  const limit = { limit: 60, windowMs: 60_000 / TIME_SCALE };
  return {
    mode: 'simulator',
    served,
    // The sync only reads, so it uses the read-only demo key (fake, valid only against the local simulator).
    client: { baseUrl: served.url, apiKey: demoKeys.find((k) => k.role === 'read-only').key, rateLimit: { rules: [limit] } },
    limit,
    expected: 3000,
    work: { ...WORKLOAD, pageSize: 100 },
    intro: [
      `sluice sync demo against the simulator on ${served.url} (set CYBERHAVEN_BASE_URL and CYBERHAVEN_API_KEY for a real tenant)`,
      `  time runs ${TIME_SCALE}x: the API's 60 requests per minute per key are 60 per ${limit.windowMs / 1000} s here, 5 in flight per endpoint`,
      `  tokens live ${TOKEN_TTL_MS / 60_000} min of server time (15 on the real API, shortened so a refresh happens): ${TOKEN_TTL_MS / TIME_SCALE / 1000} s here`,
      `  a ${STORM_MS} ms storm of 429s is injected after ${STORM_AFTER_REQUESTS} requests`,
      '  workload: every incident page (100 a page, one cursor) and their events, 25 ids a call, 20 calls at a time',
    ],
  };
}

async function main() {
  const { CYBERHAVEN_BASE_URL: tenant, CYBERHAVEN_API_KEY: key } = process.env;
  if (Boolean(tenant) !== Boolean(key)) {
    console.error('Set both CYBERHAVEN_BASE_URL and CYBERHAVEN_API_KEY for a real tenant, or neither for the simulator.');
    return 2;
  }
  const files = reportArgs(process.argv.slice(2));
  const out = process.stdout;
  const setup = tenant ? tenantSetup(tenant) : await simulatorSetup();
  const { served } = setup;
  const recorder = createRecorder();
  const client = createCyberhavenClient({ ...setup.client, fetch: recorder.fetch });
  const events = recordEvents(client.events, { waiting: () => client.interceptors.rateLimit.stats().queued });
  const counts = newCounts();
  const calls = [];
  const stop = new AbortController();
  for (const text of setup.intro) out.write(`${text}\n`);

  const live = createLive({
    out,
    tty: out.isTTY === true,
    expected: setup.expected,
    status: () => ({
      incidents: counts.synced,
      walked: counts.incidents,
      requests: recorder.requests,
      rate: recorder.rate(),
      queued: client.interceptors.rateLimit.stats().queued,
      token: watched.state(),
    }),
  });
  const watched = watchEvents(client.events, live.log);
  if (served) {
    let stormed = false;
    client.events.on('rate-limit:acquired', () => {
      if (stormed || recorder.requests < STORM_AFTER_REQUESTS) return;
      stormed = true;
      live.log(`simulator: injecting a ${STORM_MS} ms storm of 429s`);
      served.mock.startStorm(STORM_MS);
    });
  }
  process.once('SIGINT', () => {
    live.log('interrupted: stopping (Ctrl-C again to quit at once)');
    stop.abort(new Error('interrupted'));
    process.once('SIGINT', () => process.exit(130));
  });

  const started = performance.now();
  live.start();
  try {
    await sync(client, {
      ...setup.work,
      signal: stop.signal,
      counts,
      onCall: (ms) => calls.push(ms),
      onError: (error) => live.log(`call failed: ${error instanceof Error ? error.message : String(error)}`),
    });
  } finally {
    live.stop();
    await client.close();
  }
  const summary = summarize({
    mode: setup.mode,
    recorder,
    sync: counts,
    calls,
    tokens: watched.tokens,
    limit: setup.limit,
    simulator: served?.mock.stats(),
    elapsedMs: performance.now() - started,
  });
  out.write(formatSummary(summary, setup.limit));
  for (const file of await writeReports(files, { log: events.log, summary, limit: setup.limit })) out.write(`report: ${file}\n`);
  await served?.close();
  return stop.signal.aborted ? 130 : counts.errors > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  // sluice's errors say what failed and where, never a key or a token.
  (error) => {
    console.error(`sync demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
