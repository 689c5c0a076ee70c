import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';

/** Per-call state shared by the interceptors of one call. Plugins add fields by module augmentation. */
export interface CallState {
  /** Short, non-reversible fingerprint of the API key that authenticates the call (set by auth-token). */
  keyId?: string;
  /** Endpoint the call counts against, when an interceptor has decided it. */
  endpoint?: string;
  /**
   * Runs on each request just before the transport sends it, after every queue and wait, so an outer
   * interceptor can freshen what a wait may have staled (auth-token swaps a token that expired meanwhile).
   * It must return requests it does not recognise unchanged.
   */
  beforeSend?: (request: Request) => Request | Promise<Request>;
  /** The pipeline needs this request before the queued ones (a token exchange): queues serve it first. */
  priority?: boolean;
  /** This call exchanges an API key for an access token (auth-token sets it): rate-limit learns whether the server counts it. */
  tokenExchange?: boolean;
  /**
   * Called when the call starts to wait in a queue below (rate-limit's), so that an outer interceptor can work meanwhile:
   * auth-token times a token's refresh while calls wait, as none of them reaches it then. `beforeSend` ends the wait.
   */
  onWait?: () => void;
}

/** What an interceptor sees of the call it handles. */
export interface Context {
  /** 1 for the first attempt; a retrying interceptor raises it before each replay. */
  attempt: number;
  /** The caller's signal, if any. Waits must listen to `request.signal` of the request they handle. */
  readonly signal: AbortSignal | undefined;
  /**
   * True when the caller gave a one-shot `ReadableStream` as `init.body`. To send it more than once, use
   * `keepForReplay` (`@sluice/core/http`): it copies the body as it flows, and interceptors further in share that copy.
   */
  streamBody: boolean;
  readonly state: CallState;
  /**
   * The caller's own `Request`, when one came without `init` and the pipeline passes it on uncopied (a copy
   * would make the runtime follow its signal once per call). It is the caller's: copy it before changing headers
   * (`new Request(request, { headers })`, which uses its body up as fetch would; `clone()` would leave it unused).
   */
  readonly callerRequest?: Request;
  readonly bus: EventBus;
  readonly clock: Clock;
}

/**
 * Calls the rest of the chain, ending at the transport. Pass `ctx` to send a request of the pipeline's own
 * (a token exchange) as a call of its own, with its own state and signal, to the interceptors after you.
 */
export type Next = (request: Request, ctx?: Context) => Promise<Response>;

/** What `setup` receives once, when the pipeline is composed. */
export interface SetupContext {
  readonly bus: EventBus;
  readonly clock: Clock;
}

/** Frees what `setup` took: timers, listeners, queued waiters. */
export type Teardown = () => void | Promise<void>;

export interface Interceptor {
  /** Shown in errors and events. */
  readonly name: string;
  setup?(env: SetupContext): Teardown | undefined;
  /**
   * Handles one call. `request` belongs to the pipeline, unless it is `ctx.callerRequest`: an interceptor may set
   * its headers in place before passing it on. A body is sent once: to send it again, use `keepForReplay`.
   */
  handle(request: Request, next: Next, ctx: Context): Promise<Response>;
}

/** The transport at the end of the chain: any function shaped like `fetch`. */
export type FetchLike = (input: Request, init?: RequestInit) => Promise<Response>;
