// The one suite every runtime runs. `modules` maps the keys of packages.mjs to loaded modules (or missing
// stand-ins); `env` says where it runs: { runtime, version, worker? } (worker: workerd-only state).
import { assert } from '../harness.mjs';
import { coreTests } from './core.mjs';
import { pipelineTests } from './pipeline.mjs';
import { realtimeTests } from './realtime.mjs';
import { workerdTests } from './workerd.mjs';

export function defineSuite(registry, modules, env) {
  const context = { test: registry.test, assert, modules, env };
  coreTests(context);
  pipelineTests(context);
  realtimeTests(context);
  if (env.worker) workerdTests(context);
}
