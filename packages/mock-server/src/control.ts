import type { Env } from './env.js';
import { errorBody, json, Problem, problem, readJsonObject } from './http.js';
import type { Faults } from './options.js';

const ALLOW: Record<string, string> = { stats: 'GET', 'reset-stats': 'POST', 'revoke-tokens': 'POST', storm: 'POST', faults: 'GET, PATCH' };
const FAULT_FIELDS = ['serverErrorRate', 'resetRate', 'storm', 'tokenLatencyMs', 'malformedTokenRate'] as const;

/**
 * Control routes for demos and the CLI, outside `/v2`: not authenticated, not rate limited, not
 * counted in stats. `GET stats`, `POST reset-stats`, `POST revoke-tokens`, `POST storm {durationMs}`,
 * `GET faults`, `PATCH faults {...}`. Turn them off with `controlPath: false`.
 */
export function createControl(env: Env, prefix: string) {
  const snapshot = () => env.stats.snapshot(env.concurrency.total());

  async function run(request: Request, name: string, method: string): Promise<Response> {
    const allow = Object.hasOwn(ALLOW, name) ? ALLOW[name] : undefined;
    if (allow === undefined) throw problem(404, 'not_found', `no such control route: ${prefix}/${name.slice(0, 100)}`);
    if (!allow.split(', ').includes(method)) throw problem(405, 'method_not_allowed', `${prefix}/${name} accepts ${allow}`, { allow });
    const body = method === 'POST' || method === 'PATCH' ? await readJsonObject(request, 65_536) : undefined;
    const route = `${method} ${name}`;
    switch (route) {
      case 'GET stats':
        return json(200, snapshot());
      case 'POST reset-stats':
        env.stats.reset();
        return json(200, snapshot());
      case 'POST revoke-tokens':
        return json(200, { revoked: env.tokens.revokeAll() });
      case 'POST storm': {
        const ms = body?.durationMs;
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
          throw problem(400, 'invalid_request', '`durationMs` must be a non-negative number');
        env.faults.startStorm(ms);
        return json(200, { stormMs: ms });
      }
      case 'GET faults':
        return json(200, env.faults.get());
      case 'PATCH faults': {
        const patch: Faults = {};
        for (const field of FAULT_FIELDS) if (body && field in body) (patch as Record<string, unknown>)[field] = body[field] ?? undefined;
        try {
          env.faults.set(patch);
        } catch (error) {
          throw problem(400, 'invalid_request', error instanceof Error ? error.message : 'invalid faults');
        }
        return json(200, env.faults.get());
      }
    }
    throw problem(405, 'method_not_allowed', `${prefix}/${name} accepts ${allow}`, { allow });
  }

  return {
    owns: (path: string) => path === prefix || path.startsWith(`${prefix}/`),
    async handle(request: Request, url: URL, requestId: string): Promise<Response> {
      const name = url.pathname.slice(prefix.length + 1);
      try {
        return await run(request, name, request.method.toUpperCase());
      } catch (error) {
        const p = error instanceof Problem ? error : problem(500, 'internal_error', 'the control route failed');
        return json(p.status, errorBody(p.code, p.message, requestId), p.headers);
      }
    },
  };
}
