import { createTestClock, type TestClock } from '@sluice/core/testing';
import { createMockServer, demoKeys, type MockServer, type MockServerOptions } from '@sluice/mock-server';
import * as assert from 'uvu/assert';

export const BASE = 'https://tenant.cyberhaven.io';
export const ADMIN_KEY = demoKeys[0]!.key;
export const READ_ONLY_KEY = demoKeys[1]!.key;
export const EXPIRED_KEY = demoKeys[2]!.key;
export const TOKEN_PATH = '/v2/auth/token/access';
export const LIST_PATH = '/v2/incidents/list';

export interface SendOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Harness {
  clock: TestClock;
  server: MockServer;
  send(method: string, path: string, options?: SendOptions): Promise<Response>;
  /** Exchanges `key` for an access token (asserts 200). */
  token(key?: string): Promise<string>;
  list(token: string, body?: unknown): Promise<Response>;
}

/** A simulator on a virtual clock. */
export function setup(options: MockServerOptions = {}): Harness {
  const clock = createTestClock();
  const server = createMockServer({ clock, ...options });
  const send = (method: string, path: string, o: SendOptions = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    const body = o.body === undefined || typeof o.body === 'string' || o.body instanceof Uint8Array ? o.body : JSON.stringify(o.body);
    return server.fetch(BASE + path, { method, headers, body: body as BodyInit | undefined, signal: o.signal });
  };
  const token = async (key = ADMIN_KEY) => {
    const response = await send('POST', TOKEN_PATH, { body: { api_key: key } });
    assert.is(response.status, 200, `token exchange answered ${response.status}`);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  return { clock, server, send, token, list: (t, body = {}) => send('POST', LIST_PATH, { token: t, body }) };
}

export async function errorOf(response: Response): Promise<{ code: string; message: string; request_id: string }> {
  const body = (await response.json()) as { error: { code: string; message: string }; request_id: string };
  return { ...body.error, request_id: body.request_id };
}

/** Sends `n` requests one after another and returns their statuses. */
export async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const response = await send();
    await response.arrayBuffer();
    out.push(response.status);
  }
  return out;
}

export const count = (list: number[], status: number) => list.filter((s) => s === status).length;

/** Decodes a JWT's payload (tests only). */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}
