/** `monitor:usage-high`: the key used `share` of its limit over the last window. */
export interface UsageHighEvent {
  keyId: string;
  share: number;
  used: number;
  limit: number;
  windowMs: number;
}

/** `monitor:rate-limited`: the server answered 429. */
export interface RateLimitedEvent {
  keyId: string;
  endpoint: string;
  method: string;
  url: string;
  retryAfterMs: number | undefined;
}

/** `monitor:key-expiring`: the API key nears its expiry. */
export interface KeyExpiringEvent {
  keyId: string;
  expiresAt: number;
  remainingMs: number;
  thresholdMs: number;
}

declare module '@sluice/core' {
  interface SluiceEvents {
    /** Fires when a key's share of its limit reaches `usageThreshold`, and again only after it fell below. */
    'monitor:usage-high': UsageHighEvent;
    /** The first 429 of a key after a window without any. */
    'monitor:rate-limited': RateLimitedEvent;
    /** auth-token's `auth:key-expiring`, passed on. */
    'monitor:key-expiring': KeyExpiringEvent;
  }
}
