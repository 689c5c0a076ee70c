import type { EventBus } from '@sluice/core';
import { type RedisClientLike, type ScriptClient, toScriptClient } from './client.js';
import type { OnError } from './guard.js';

/** Options both stores take. */
export interface RedisStoreOptions {
  /** A connected node-redis or ioredis client (or cluster), or a `ScriptClient`. The store never connects or quits it. */
  client: RedisClientLike;
  /** First part of every key; stores with different prefixes share nothing. Must not contain `{` or `}`. @default 'sluice' */
  prefix?: string;
  /** What a call does when Redis fails or is slow: work locally, or reject. @default 'fail-open' */
  onError?: OnError;
  /** Longest wait for one Redis command, in real milliseconds; then the call counts as failed. @default 500 */
  commandTimeoutMs?: number;
  /** After a failure, how long calls skip Redis (falling back or failing at once) before trying it again, in clock ms. @default 1000 */
  retryRedisMs?: number;
  /** Where `redis:*` events go: pass the pipeline's bus (`compose(..., { bus })`). @default none */
  bus?: EventBus;
}

export interface Resolved {
  client: ScriptClient;
  prefix: string;
  onError: OnError;
  commandTimeoutMs: number;
  retryRedisMs: number;
  bus: EventBus | undefined;
}

export const storeDefaults = Object.freeze({
  prefix: 'sluice',
  onError: 'fail-open' as OnError,
  commandTimeoutMs: 500,
  retryRedisMs: 1000,
});

/** Drops `undefined` values, so they mean the default. */
export const defined = <T extends object>(options: T): Partial<T> =>
  Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;

export function positive(name: string, value: number, min = 0, allowInfinity = false): void {
  if (typeof value !== 'number' || !(value >= min) || (!allowInfinity && value === Infinity))
    throw new RangeError(`\`${name}\` must be a ${allowInfinity ? '' : 'finite '}number >= ${min}, got ${String(value)}`);
}

export function resolveCommon(options: RedisStoreOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with a `client`');
  const o = { ...storeDefaults, ...defined(options) };
  if (typeof o.prefix !== 'string' || !o.prefix || /[{}]/.test(o.prefix))
    throw new TypeError(`\`prefix\` must be a non-empty string without { or }, got ${JSON.stringify(o.prefix)}`);
  if (o.onError !== 'fail-open' && o.onError !== 'fail-closed')
    throw new TypeError(`\`onError\` must be 'fail-open' or 'fail-closed', got ${JSON.stringify(o.onError)}`);
  positive('commandTimeoutMs', o.commandTimeoutMs, 1);
  positive('retryRedisMs', o.retryRedisMs);
  return { ...o, client: toScriptClient(o.client as RedisClientLike), bus: o.bus };
}

// `{` and `}` would end the hash tag early; `%` is escaped too, so distinct ids stay distinct keys.
const escapeTag = (id: string) => id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `<prefix>:<kind>:{<id>}`: every key of one API key shares the hash tag `{<id>}`, so it lives in one Redis Cluster slot and
 * one script may touch them all.
 */
export const tagged = (prefix: string, kind: string, id: string): string => `${prefix}:${kind}:{${escapeTag(id)}}`;

export const randomId = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
