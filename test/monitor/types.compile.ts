// Compile-only: checked by `tsc -p test/tsconfig.json`, never run.
import { compose } from '@sluice/core';
import { type KeySnapshot, type Monitor, type MonitorRecord, monitor } from '@sluice/monitor';
import { otelMetrics } from '@sluice/monitor/otel';
import { renderPrometheus } from '@sluice/monitor/prometheus';
import { sdk } from './libs.js';

const mon: Monitor = monitor({ limit: 60, windowMs: 60_000, usageThreshold: 0.9, maxKeys: 10, maxEndpoints: 5 });
const api = compose([mon]);

// Importing the package types its warnings on every bus.
api.events.on('monitor:usage-high', (e) => void (e.share satisfies number));
api.events.on('monitor:rate-limited', (e) => void (e.retryAfterMs satisfies number | undefined));
api.events.on('monitor:key-expiring', (e) => void (e.expiresAt satisfies number));

const row: KeySnapshot | undefined = mon.snapshot().keys[0];
void row?.responses['2xx'];
// @ts-expect-error status classes only
void row?.responses['200'];

mon.subscribe((r: MonitorRecord) => {
  if (r.type === 'queue-wait') return void (r.waitedMs satisfies number);
  void (r.status satisfies number | undefined);
});

// @ts-expect-error no such option
monitor({ threshold: 0.5 });

const stop: () => void = otelMetrics(mon, new sdk.MeterProvider().getMeter('x'), { prefix: 'api.' });
void stop;
const text: string = renderPrometheus(mon.snapshot(), { prefix: 'api_' });
void text;
