// One contender of the loopback benchmark, alone in a fresh Node process (its own heap, JIT state and connection
// pool): warms up, then times one sample per mode and prints them as one JSON line.
// Usage: node --expose-gc test/bench/loopback-client.mjs <contender> <base URL> [--quick]
import { performance } from 'node:perf_hooks';
import { gc, loadSluice } from './common.mjs';
import { createContender } from './contenders.mjs';
import { modes, warmUp, world } from './loopback-plan.mjs';

const [name, base] = process.argv.slice(2);
const contender = createContender(name, world(base, await loadSluice(), name));
const spec = { url: `${base}/v2/items` };
let queued = 0;
contender.api?.events.on('rate-limit:queued', () => queued++);

/** `n` requests, `parallel` at a time: requests per second, and the client's CPU time (all its threads) per request. */
async function sample({ parallel, n }) {
  const worker = async () => {
    for (let i = 0; i < n / parallel; i++) await contender.send(spec);
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { rps: (n * 1000) / elapsed, cpuUs: (used.user + used.system) / n };
}

for (const step of warmUp) await sample(step);
const samples = {};
for (const mode of modes) {
  gc();
  samples[mode.name] = await sample(mode);
}
await contender.close?.();
if (queued) throw new Error(`sluice's rate limiter queued ${queued} requests: it must not bind in this benchmark`);
process.stdout.write(`${JSON.stringify(samples)}\n`, () => process.exit(0));
