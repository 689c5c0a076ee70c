// The test command: builds, type-checks and lints, then runs every suite and prints one closing line
// `tests: N passed, M failed` that counts every test of every suite (each gate counts as one test).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => resolve(root, 'node_modules/.bin', name);
const totals = { passed: 0, failed: 0 };
const failures = [];

function exec(command, args, options = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, ...options });
    let output = '';
    const onData = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 1 : 0), output }));
    child.on('error', (error) => done({ code: 1, output: String(error) }));
  });
}

async function gate(name, command, args) {
  console.log(`\n── ${name}`);
  const { code } = await exec(command, args);
  if (code === 0) totals.passed++;
  else {
    totals.failed++;
    failures.push(name);
  }
}

// uvu prints "Total: N / Passed: N / Skipped: N"; a suite that dies before it counts as one failure.
async function uvuSuite(name, command, args, env = {}) {
  console.log(`\n── ${name}`);
  const { code, output } = await exec(command, args, { env: { ...process.env, FORCE_COLOR: '0', ...env } });
  const clean = output.replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'), '');
  const total = clean.match(/Total:\s+(\d+)/g);
  const passed = clean.match(/Passed:\s+(\d+)/g);
  if (!total || !passed) {
    totals.failed++;
    failures.push(`${name} (no summary, exit ${code})`);
    return;
  }
  const sum = (matches) => matches.reduce((n, m) => n + Number(m.match(/\d+/)[0]), 0);
  const t = sum(total);
  const p = sum(passed);
  totals.passed += p;
  totals.failed += t - p;
  if (t - p > 0 || code !== 0) {
    if (t === p) totals.failed++;
    failures.push(name);
  }
}

// Runners that print their own `<name>: N passed, M failed` line.
async function countedSuite(name, args) {
  console.log(`\n── ${name}`);
  const { code, output } = await exec(process.execPath, args);
  const m = [...output.matchAll(/^[\w-]+: (\d+) passed, (\d+) failed$/gm)].pop();
  if (!m) {
    totals.failed++;
    failures.push(`${name} (no summary, exit ${code})`);
    return;
  }
  totals.passed += Number(m[1]);
  totals.failed += Number(m[2]);
  if (Number(m[2]) > 0 || code !== 0) {
    if (Number(m[2]) === 0) totals.failed++;
    failures.push(name);
  }
}

await gate('build', bin('rollup'), ['-c', '--silent']);
await gate('typecheck: packages', bin('tsc'), ['-p', 'tsconfig.json']);
await gate('typecheck: tests and examples', bin('tsc'), ['-p', 'test/tsconfig.json']);
await gate('lint', bin('biome'), ['check', '.']);
await uvuSuite('unit suites', process.execPath, ['--import', 'tsx', 'test/unit.mjs']);
// The soak's heap check, without the secret audit (which keeps every event it saw, and is the heap's growth under it).
await uvuSuite('soak, heap without the audit', process.execPath, ['--import', 'tsx', 'test/unit.mjs', 'soak'], { SLUICE_AUDIT: 'off' });
await uvuSuite('redis suites (real redis-server)', process.execPath, ['--import', 'tsx', 'test/redis/run.mjs']);
await countedSuite('runtimes', ['test/runtimes/run.mjs']);
await countedSuite('packaging', ['test/packaging/check.mjs']);
await countedSuite('consumer (packed tarballs installed in fresh projects)', ['test/consumer/run.mjs']);

if (failures.length > 0) console.log(`\nfailed: ${failures.join(', ')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed`);
process.exitCode = totals.failed > 0 ? 1 : 0;
