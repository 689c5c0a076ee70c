/**
 * What the stores need of a Redis client: to run a Lua script. `toScriptClient` wraps node-redis and ioredis
 * clients (single node or cluster); for another client, implement these two methods.
 */
export interface ScriptClient {
  /** EVALSHA. Rejects with an error whose message starts with `NOSCRIPT` when the server lacks the script. */
  runSha(sha1: string, keys: string[], args: string[], signal: AbortSignal): Promise<unknown>;
  /** EVAL. */
  run(source: string, keys: string[], args: string[], signal: AbortSignal): Promise<unknown>;
}

type EvalOptions = { keys: string[]; arguments: string[] };

/** The part of a node-redis (`redis` v4+) client or cluster the stores use. */
export interface NodeRedisLike {
  evalSha(sha1: string, options: EvalOptions): Promise<unknown>;
  eval(script: string, options: EvalOptions): Promise<unknown>;
  withAbortSignal?(signal: AbortSignal): unknown;
}

/** The part of an ioredis client or cluster the stores use. */
export interface IoredisLike {
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

export type RedisClientLike = ScriptClient | NodeRedisLike | IoredisLike;

/** Runs scripts through node-redis; a command still queued when its time is up is dropped, not sent late. */
export function fromNodeRedis(client: NodeRedisLike): ScriptClient {
  const on = (signal: AbortSignal) => (client.withAbortSignal ? (client.withAbortSignal(signal) as NodeRedisLike) : client);
  return {
    runSha: (sha1, keys, args, signal) => on(signal).evalSha(sha1, { keys, arguments: args }),
    run: (source, keys, args, signal) => on(signal).eval(source, { keys, arguments: args }),
  };
}

/** Runs scripts through ioredis. */
export function fromIoredis(client: IoredisLike): ScriptClient {
  return {
    runSha: (sha1, keys, args) => client.evalsha(sha1, keys.length, ...keys, ...args),
    run: (source, keys, args) => client.eval(source, keys.length, ...keys, ...args),
  };
}

/** Accepts a node-redis or ioredis client (told apart by `evalSha` / `evalsha`), or a `ScriptClient` as is. */
export function toScriptClient(client: RedisClientLike): ScriptClient {
  const c = client as Partial<ScriptClient & NodeRedisLike & IoredisLike> | null;
  if (typeof c?.runSha === 'function' && typeof c.run === 'function') return c as ScriptClient;
  if (typeof c?.evalSha === 'function') return fromNodeRedis(c as NodeRedisLike);
  if (typeof c?.evalsha === 'function') return fromIoredis(c as IoredisLike);
  throw new TypeError('`client` must be a node-redis or ioredis client (connected by you), or a { runSha, run } ScriptClient');
}

/**
 * A second connection, subscribed: the rate-limit store hears there of capacity another process freed. `toSubscriber`
 * wraps a node-redis or ioredis client; for another client, implement these two methods.
 */
export interface SubscribeClient {
  subscribe(channel: string, listener: (message: string) => void): unknown;
  unsubscribe(channel: string, listener: (message: string) => void): unknown;
}

/** The part of an ioredis client that subscribes: messages come as events. */
export interface IoredisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  status: string;
}

/** The part of a node-redis client that subscribes: a listener per channel. */
export interface NodeRedisSubscriberLike {
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}

export type SubscriberLike = SubscribeClient | IoredisSubscriberLike | NodeRedisSubscriberLike;

/** Accepts an ioredis client (told apart by its `status`), or a node-redis client or a `SubscribeClient` as they are. */
export function toSubscriber(client: SubscriberLike): SubscribeClient {
  const c = client as Partial<IoredisSubscriberLike & NodeRedisSubscriberLike> | null;
  if (typeof c?.subscribe !== 'function' || typeof c.unsubscribe !== 'function')
    throw new TypeError('`subscriber` must be a connected node-redis or ioredis client of its own, or a { subscribe, unsubscribe } client');
  if (typeof c.on !== 'function' || typeof c.status !== 'string') return client as SubscribeClient;
  const io = client as IoredisSubscriberLike;
  const listeners = new Map<(message: string) => void, (channel: string, message: string) => void>();
  return {
    subscribe(channel, listener) {
      const onMessage = (from: string, message: string) => from === channel && listener(message);
      listeners.set(listener, onMessage);
      io.on('message', onMessage);
      return io.subscribe(channel);
    },
    unsubscribe(channel, listener) {
      const onMessage = listeners.get(listener);
      if (onMessage) io.off('message', onMessage);
      listeners.delete(listener);
      return io.unsubscribe(channel);
    },
  };
}
