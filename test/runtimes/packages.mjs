// The built entries the suite exercises, by the key the suite uses. Paths are relative to the repository root.
// A package that is not built yet is handed to the suite as a missing module: the tests that need it fail.
export const entries = {
  core: 'packages/core/dist/index.mjs',
  http: 'packages/core/dist/http.mjs',
  testing: 'packages/core/dist/testing.mjs',
  authToken: 'packages/auth-token/dist/index.mjs',
  rateLimit: 'packages/rate-limit/dist/index.mjs',
  retry429: 'packages/retry-429/dist/index.mjs',
  errorMap: 'packages/error-map/dist/index.mjs',
  mockServer: 'packages/mock-server/dist/index.mjs',
};

/** A stand-in for a package that could not be loaded; `needs()` in the suite turns it into a failure. */
export function missing(key, reason) {
  return { __missing: `${entries[key]} could not be loaded (${reason})` };
}

/** Loads every entry with dynamic `import()` (Node, Deno, Bun); `root` is the repository root as a file URL. */
export async function loadAll(root) {
  const modules = {};
  for (const [key, path] of Object.entries(entries)) {
    try {
      modules[key] = await import(new URL(path, root).href);
    } catch (error) {
      modules[key] = missing(key, error?.message ?? String(error));
    }
  }
  return modules;
}
