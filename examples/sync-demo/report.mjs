// The demo's report: the pipeline's own events drawn as a timeline, with the summary's figures, in one HTML file.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport, renderTimelineSvg } from '@sluice/report';

/** `--report FILE` (default sync-report.html), `--no-report`, `--timeline-svg FILE` (the timeline alone, for a README). */
export function reportArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { report: { type: 'string' }, 'no-report': { type: 'boolean' }, 'timeline-svg': { type: 'string' } },
  });
  return {
    html: values['no-report'] ? undefined : resolve(values.report ?? 'sync-report.html'),
    svg: values['timeline-svg'] && resolve(values['timeline-svg']),
  };
}

const ms = (n) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);

/** Writes what `files` asks for; returns the paths written. */
export async function writeReports(files, { log, summary: s, limit }) {
  const title = s.mode === 'simulator' ? 'Sync timeline: the demo against the simulator' : 'Sync timeline: the demo against a tenant';
  const figures = [
    ['mode', s.mode],
    ['synced', `${s.incidents} incidents, ${s.events} events, in ${(s.elapsedMs / 1000).toFixed(1)} s`],
    [
      'latency',
      `round trip p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}; per call with queueing p50 ${ms(s.callLatencyMs.p50)}, p95 ${ms(s.callLatencyMs.p95)}`,
    ],
    ['throughput', `${s.throughput.perSecond} req/s, ${Math.round(s.throughput.share * 100)}% of the limit`],
    ['errors', String(s.errors)],
  ];
  const written = [];
  if (files.html) {
    await writeFile(files.html, await renderReport({ log, limit, title, heading: 'sluice sync demo: report', figures }));
    written.push(files.html);
  }
  if (files.svg) {
    await writeFile(files.svg, await renderTimelineSvg({ log, limit, title }));
    written.push(files.svg);
  }
  return written;
}
