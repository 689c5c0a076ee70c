// The real OpenTelemetry SDK, prom-client and a Prometheus text parser. They are devDependencies of @sluice/monitor
// (the workspace root does not list them), so they load from its folder.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../packages/monitor/package.json', import.meta.url));

export const sdk: typeof import('../../packages/monitor/node_modules/@opentelemetry/sdk-metrics') = require('@opentelemetry/sdk-metrics');
export const promClient: typeof import('../../packages/monitor/node_modules/prom-client') = require('prom-client');

/** What parse-prometheus-text-format returns (it ships no types): one entry per metric family. */
export interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}
export const parsePrometheus: (text: string) => ParsedFamily[] = require('parse-prometheus-text-format');
