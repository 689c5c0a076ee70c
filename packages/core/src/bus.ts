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
  const report = (type: string, error: unknown) => {
    if (type === 'bus:listener-error') return;
    emit('bus:listener-error', { event: type, error });
  };
  const call = (type: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      report(type, error);
    }
  };
  const emit = <K extends EventName>(type: K, payload: SluiceEvents[K]) => {
    const direct = all.get(type);
    if (direct) for (const listener of direct.slice()) call(type, () => (listener as Listener<K>)(payload));
    const wildcard = all.get('*');
    if (wildcard) for (const listener of wildcard.slice()) call(type, () => (listener as WildcardListener)(type, payload));
  };

  return {
    on(type: string, listener: AnyHandler) {
      emitter.on(type, listener as never);
      return () => emitter.off(type, listener as never);
    },
    off(type: string, listener: AnyHandler) {
      emitter.off(type, listener as never);
    },
    emit,
    listens: (type) => (all.get(type)?.length ?? 0) > 0 || (all.get('*')?.length ?? 0) > 0,
    clear: () => all.clear(),
  } as EventBus;
}
