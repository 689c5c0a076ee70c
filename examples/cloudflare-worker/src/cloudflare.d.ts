// What this Worker uses from the runtime, for the repository's type check; a project of its own would install
// @cloudflare/workers-types (or run `wrangler types`) instead.
declare module 'cloudflare:workers' {
  export function waitUntil(promise: Promise<unknown>): void;
}
