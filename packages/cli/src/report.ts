import { type CyberhavenClient, cyberhavenDefaults } from '@sluice/cyberhaven';
import { UsageError } from './args.js';
import type { CliIo } from './io.js';

type Report = typeof import('@sluice/report');
type Write = (text: string) => void;

export const REPORT_MISSING =
  '--report needs @sluice/report (optional: it brings Vega-Lite, about 25 MB): npm install --global @sluice/report, or npx -p @sluice/cli -p @sluice/report sluice ...';

/** Loads @sluice/report before the run starts, so that a missing one fails at once rather than after a long walk. */
export async function loadReport(load: () => Promise<Report> = () => import('@sluice/report')): Promise<Report> {
  try {
    return await load();
  } catch {
    throw new UsageError(REPORT_MISSING);
  }
}

/**
 * Records the pipeline's events from now on; `write` draws them into `file` with the figures of the run. A report that
 * cannot be written fails a run that succeeded, and is only mentioned after one that failed (its own error comes first).
 */
export function recordReport(report: Report, client: CyberhavenClient, io: CliIo, file: string, what: string) {
  const writeFile = io.writeFile;
  if (!writeFile) throw new UsageError('--report needs a file system to write to');
  const recording = report.recordEvents(client.events, { waiting: () => client.interceptors.rateLimit.stats().queued });
  const limit = cyberhavenDefaults.rateLimit.startFrom[0]!; // the documented rule, drawn as the limit
  return async (items: number | undefined, failed: boolean, err: Write) => {
    recording.stop();
    try {
      const figures: [string, string][] = [['call', what], ...(items === undefined ? [] : [['items', String(items)] as [string, string]])];
      await writeFile(
        file,
        await report.renderReport({ log: recording.log, limit, heading: 'sluice report', title: 'Timeline of the call', figures }),
      );
      err(`sluice: report written to ${file}\n`);
    } catch (error) {
      const why = (error as { code?: string }).code ?? (error instanceof Error ? error.message : 'failed');
      if (!failed) throw new Error(`the report could not be written to ${file}: ${why}`);
      err(`sluice: the report could not be written to ${file}: ${why}\n`);
    }
  };
}
