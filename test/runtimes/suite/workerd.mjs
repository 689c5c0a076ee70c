// Tests that only mean something inside workerd: global-scope rules and time that moves with I/O.
import { needs, ok } from './util.mjs';

/**
 * Runs while the worker's module is evaluated, where workerd refuses timers and random values and
 * `Date.now()` reads 0. Whatever is composed here must not touch either until a request comes.
 */
export function atGlobalScope(modules) {
  const global = { dateNow: Date.now(), timerError: undefined, composeError: undefined, core: undefined };
  try {
    clearTimeout(setTimeout(() => {}, 1));
  } catch (error) {
    global.timerError = String(error?.message ?? error);
  }
  try {
    if (!modules.core.__missing) {
      let calls = 0;
      const counter = {
        name: 'counter',
        handle(request, next) {
          calls++;
          return next(request);
        },
      };
      global.core = { fetch: modules.core.compose([counter], { fetch: async () => ok() }), calls: () => calls };
    }
  } catch (error) {
    global.composeError = String(error?.message ?? error);
  }
  return global;
}

export function workerdTests({ test, assert, modules, env }) {
  const worker = env.worker;

  test('workerd: global scope refuses timers and reads Date.now() as 0, as deployed Workers do', async () => {
    assert.equal(worker.global.dateNow, 0);
    assert.ok(worker.global.timerError?.includes('global scope'), `setTimeout at global scope gave: ${worker.global.timerError}`);
    assert.ok(Date.now() > 1e12, 'Date.now() inside a request reads the real time');
  });

  test('workerd: core composed in global scope creates no timer and serves requests', async () => {
    needs(modules, 'core');
    assert.equal(worker.global.composeError, undefined);
    const response = await worker.global.core.fetch('https://api.example/v2/items');
    assert.equal(await response.text(), 'ok');
    assert.ok(worker.global.core.calls() >= 1);
  });
}
