import mitt from 'mitt';

/**
 * Every event of the pipeline, by name. Packages and third-party plugins add theirs by augmentation:
 * `declare module '@sluice/core' { interface SluiceEvents { 'my-plugin:thing': { n: number } } }`.
 */
export interface SluiceEvents {
  /** A listener threw; the request it observed went on. */
  'bus:listener-error': { event: string; error: unknown };
  /**
   * The server answered 429 for a key. Emitted by whoever sees it first (retry-429); rate-limit
   * listens and pauses the whole key until `retryAfterMs` has passed.
   */
  'rate-limit:exceeded': { keyId: string | undefined; retryAfterMs: number | undefined; method: string; url: string };
}

export type EventName = keyof SluiceEvents & string;
export type Listener<K extends EventName> = (payload: SluiceEvents[K]) => void;
export type WildcardListener = <K extends EventName>(type: K, payload: SluiceEvents[K]) => void;

export interface EventBus {
  /** Subscribes; the returned function unsubscribes. */
  on<K extends EventName>(type: K, listener: Listener<K>): () => void;
  on(type: '*', listener: WildcardListener): () => void;
  off<K extends EventName>(type: K, listener: Listener<K>): void;
  off(type: '*', listener: WildcardListener): void;
  emit<K extends EventName>(type: K, payload: SluiceEvents[K]): void;
  /** True when someone listens to `type` (or to every event), so emitters can skip building payloads. */
  listens(type: EventName): boolean;
  /** Drops every listener. */
  clear(): void;
}

type AnyHandler = (...args: never[]) => void;

export function createBus(): EventBus {
  const emitter = mitt<Record<string, unknown>>();
  const all = emitter.all as unknown as Map<string, AnyHandler[]>;

  // mitt's own emit stops at the first throwing listener; ours isolates each one.
  // Listeners are copied before the calls (one may unsubscribe another); with none, an event costs two lookups.
  const notify = (type: string, listeners: AnyHandler[] | undefined, wildcard: boolean, payload: unknown) => {
    if (listeners)
      for (const listener of listeners.slice() as ((...a: unknown[]) => void)[]) {
        try {
          if (wildcard) listener(type, payload);
          else listener(payload);
        } catch (error) {
          if (type !== 'bus:listener-error') emit('bus:listener-error', { event: type, error });
        }
      }
  };
  const emit = (type: string, payload: unknown) => {
    notify(type, all.get(type), false, payload);
    notify(type, all.get('*'), true, payload);
  };

  return {
    on(type: string, listener: AnyHandler) {
      emitter.on(type, listener as never);
      return () => emitter.off(type, listener as never);
    },
    off: emitter.off,
    emit,
    listens: (type) => !!(all.get(type)?.length || all.get('*')?.length),
    clear: () => all.clear(),
  } as EventBus;
}
