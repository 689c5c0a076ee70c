// Part of section 2 (loopback.mjs): how soon a streamed upload's first byte reaches the server, through raw fetch and
// through the sluice pipeline, over loopback HTTP (upload-server.mjs and upload-client.mjs, each in its own process).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fmt, quick, summary, table } from './common.mjs';

const SAMPLES = quick ? 60 : 300;
const WARM_UP = quick ? 30 : 100;

async function output(child) {
  let out = '';
  child.stdout.on('data', (data) => (out += data));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`upload client exited with ${code}`);
  return out;
}

/** Runs the measure; resolves to { markdown, goal }. */
export async function measureUpload() {
  const here = (file) => new URL(file, import.meta.url).pathname;
  const server = spawn(process.execPath, [here('./upload-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [port] = await once(server.stdout, 'data');
    const base = `http://127.0.0.1:${String(port).trim()}`;
    const client = spawn(process.execPath, ['--expose-gc', here('./upload-client.mjs'), base, String(SAMPLES), String(WARM_UP)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const samples = JSON.parse((await output(client)).trim().split('\n').at(-1));
    const of = (name) => summary(samples[name]);
    const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
    const rows = ['raw fetch', 'sluice'].map((name) => {
      const s = of(name);
      return [name, fmt.ms(s.median), `${fmt.ms(s.q1)} – ${fmt.ms(s.q3)}`, fmt.ms(q(samples[name], 0.95)), fmt.ms(s.max)];
    });
    const gap = of('sluice').median - of('raw fetch').median;
    const header = ['contender', 'first byte answered (median)', 'IQR', 'p95', 'max'];
    return {
      markdown: `**a streamed upload's first byte** (${SAMPLES} uploads each, alternating, after ${WARM_UP} each untimed)\n\nA POST whose body is a \`ReadableStream\` (\`duplex: 'half'\`): 1 KB ready at once, 64 KB more only once the server has answered the first byte (or after 1 s). The server, in its own process, answers 200 as soon as a body byte arrives; a sample is the time from the call to that answer, on the client's clock. Both in one fresh Node process; sluice is the full pipeline, its token warm and its limiter not binding.\n\n${table(header, rows)}`,
      goal: {
        goal: "Streamed upload: first byte at the server within 5 ms of raw fetch's",
        figure: `sluice ${fmt.ms(of('sluice').median)} vs raw fetch ${fmt.ms(of('raw fetch').median)} (median; ${gap >= 0 ? '+' : ''}${gap.toFixed(2)} ms)`,
        met: gap <= 5,
      },
    };
  } finally {
    server.kill('SIGTERM');
  }
}
