import { createControl } from './control.js';
import type { Call, Env } from './env.js';
import { eventDetails, parseEventQuery } from './event-details.js';
import { connectionReset, isConnectionReset, truncatedJson } from './faults.js';
import { authenticate, authorize, checkKey, checkStorm, countRequest, delay, takeSlot } from './gate.js';
import { errorBody, json, Problem, problem, readJsonObject } from './http.js';
import { listIncidents, parseListRequest } from './incidents.js';
import type { ApiKey } from './keys.js';
import { matchRoute, type Route, type RouteMatch } from './routes.js';

const FAULT_ANSWERS: Record<number, [string, string]> = {
  500: ['internal_error', 'internal server error (injected fault)'],
  502: ['bad_gateway', 'bad gateway (injected fault)'],
  503: ['service_unavailable', 'service unavailable (injected fault)'],
};

function injectServerError(env: Env): void {
  const status = env.faults.serverError();
  if (status === undefined) return;
  env.stats.fault('serverErrors');
  const [code, message] = FAULT_ANSWERS[status] as [string, string];
  throw problem(status, code, message);
}

async function exchange(env: Env, call: Call, route: Route): Promise<Response> {
  const body = await readJsonObject(call.request, env.o.maxBodyBytes);
  const secret = body?.api_key;
  if (typeof secret !== 'string' || secret === '') throw problem(400, 'invalid_request', '`api_key` is required: a non-empty string');
  const key = env.keys.bySecret(secret);
  if (!key) {
    env.stats.unauthorized('invalidKey');
    throw problem(401, 'invalid_api_key', 'the API key is not valid');
  }
  checkKey(env, call, key);
  if (env.o.countTokenExchange) countRequest(env, call);
  const slot = takeSlot(env, call, key.id, route);
  try {
    await delay(env, call, env.faults.tokenLatency());
    injectServerError(env);
    const malformed = env.faults.malformedToken();
    if (malformed) {
      env.stats.fault('malformedTokens');
      return new Response(malformed.body, { status: 200, headers: { 'content-type': malformed.type } });
    }
    const { token } = env.tokens.issue(key.id);
    env.stats.tokenIssued(key.id);
    // expires_in is in client seconds (see time.ts), rounded down so a client never holds a token too long.
    const expiresIn = Math.max(1, Math.floor(env.timeline.toClientMs(env.o.tokenTtlMs) / 1000));
    return json(200, { access_token: token, expires_in: expiresIn });
  } finally {
    slot.release();
  }
}

function listKeys(env: Env) {
  const iso = (at: number) => new Date(env.timeline.toClientTime(at)).toISOString();
  const now = env.timeline.now();
  const resources = env.keys.list().map((k) => ({
    id: k.id,
    name: k.name,
    role: k.role,
    created_at: iso(k.createdAt),
    expires_at: iso(k.expiresAt),
    status: now >= k.expiresAt ? 'expired' : 'active',
  }));
  return { type: 'api_keys', size: resources.length, resources };
}

function answer(env: Env, call: Call, match: RouteMatch, body: Record<string, unknown> | undefined): unknown {
  switch (match.route.name) {
    case 'incidents.list':
      return listIncidents(env.data(), parseListRequest(body, env.data().incidents.length));
    case 'event-details':
    case 'event-details.path':
      return eventDetails(env.data(), parseEventQuery(call.url, match.ids, body));
    default:
      return listKeys(env);
  }
}

async function api(env: Env, call: Call, match: RouteMatch): Promise<Response> {
  const key: ApiKey = authenticate(env, call);
  countRequest(env, call);
  authorize(env, call, key, match.route);
  const slot = takeSlot(env, call, key.id, match.route);
  try {
    const body = call.method === 'POST' ? await readJsonObject(call.request, env.o.maxBodyBytes) : undefined;
    const result = answer(env, call, match, body);
    await delay(env, call);
    injectServerError(env);
    if (!env.faults.truncate()) return json(200, result);
    env.stats.fault('resets');
    return truncatedJson(result);
  } finally {
    slot.release();
  }
}

async function route(env: Env, call: Call): Promise<Response> {
  const path = call.url.pathname;
  const match = matchRoute(path);
  if (!match) throw problem(404, 'not_found', `no such endpoint: ${call.method.slice(0, 16)} ${path.slice(0, 200)}`);
  const { methods, template } = match.route;
  if (!methods.includes(call.method)) {
    throw problem(405, 'method_not_allowed', `${template} accepts ${methods.join(', ')}, not ${call.method.slice(0, 16)}`, {
      allow: methods.join(', '),
    });
  }
  if (env.faults.reset()) throw connectionReset();
  checkStorm(env, call);
  return match.route.name === 'token' ? exchange(env, call, match.route) : api(env, call, match);
}

function decorate(env: Env, call: Call, response: Response): Response {
  response.headers.set('x-request-id', call.id);
  if (call.url.pathname !== '/v2' && !call.url.pathname.startsWith('/v2/')) return response;
  // Answers decided before authentication (404, 405, storms) still report the caller's own key.
  if (call.keyId === undefined) {
    const check = env.tokens.check(call.request.headers.get('authorization'));
    call.keyId = check.keyId;
  }
  const state = call.limit ?? env.limiter(call.keyId).peek(env.timeline.now());
  response.headers.set('x-ratelimit-remaining', String(Math.max(0, state.remaining)));
  response.headers.set('x-ratelimit-reset', String(Math.ceil(env.timeline.toClientTime(state.resetAt) / 1000)));
  return response;
}

/**
 * The request handler. Order: route (404, 405), faults (reset, storm), authentication (401),
 * the per-key count at arrival (429), the role (403), the concurrency cap (429), the body (400, 413),
 * latency, injected 5xx, the answer. It never throws, except to simulate a network failure
 * (connection reset) or to reject with the caller's abort reason, as `fetch` would.
 */
export function createHandler(env: Env): (request: Request) => Promise<Response> {
  const control = env.o.controlPath === false ? undefined : createControl(env, env.o.controlPath);
  return async function mockHandler(request) {
    const url = new URL(request.url);
    const call: Call = { id: crypto.randomUUID(), request, url, method: request.method.toUpperCase(), waited: false };
    if (control?.owns(url.pathname)) return decorate(env, call, await control.handle(request, url, call.id));
    env.stats.request();
    let response: Response;
    try {
      if (env.closed.aborted) throw problem(503, 'server_closed', 'the mock server is closed');
      response = await route(env, call);
    } catch (error) {
      if (isConnectionReset(error)) {
        env.stats.fault('resets');
        throw error;
      }
      if (request.signal.aborted) throw request.signal.reason;
      const p = error instanceof Problem ? error : problem(500, 'internal_error', 'the mock server failed to answer this request');
      response = json(p.status, errorBody(p.code, p.message, call.id), p.headers);
    }
    if (!call.waited && response.status !== 503) {
      try {
        await delay(env, call);
      } catch {
        if (request.signal.aborted) throw request.signal.reason;
      }
    }
    env.stats.status(response.status);
    return decorate(env, call, response);
  };
}
