// What the loopback benchmark (section 2) runs, shared by its parent (loopback.mjs) and its clients (loopback-client.mjs).
import { quick } from './common.mjs';
import { NON_BINDING_LIMIT } from './contenders.mjs';

/** Samples per contender: each round runs every contender once, in a fresh process, in a rotated order. */
export const rounds = quick ? 3 : 5;

/**
 * Requests a fresh client makes before it is timed, untimed. A cold Node process is several times slower over HTTP
 * until its fetch, socket and parser code is optimised (about 5,000 requests here), so a short warm-up times the JIT.
 */
export const warmUp = quick
  ? [
      { parallel: 64, n: 1_280 },
      { parallel: 1, n: 300 },
    ]
  : [
      { parallel: 64, n: 3_840 },
      { parallel: 1, n: 1_000 },
    ];

export const modes = [
  { name: 'sequential', parallel: 1, n: quick ? 500 : 2_000 },
  { name: '64 in parallel', parallel: 64, n: quick ? 1_280 : 3_840 },
];

/**
 * A contender's world: the global fetch (undici) for raw fetch, ky, ofetch and sluice; axios and Azure keep their
 * own Node http transports (null). `fetch` given: a transport for `checkJob`.
 */
export const world = (base, packages, name, fetch) => ({
  base,
  fetch: fetch ?? (name === 'axios' || name === 'azure' ? null : undefined),
  retries: 3,
  sluice: { packages, rateLimit: NON_BINDING_LIMIT },
});
