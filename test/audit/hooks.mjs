// Module hook of the secret audit: sends imports of the packages that make buses, take keys or mint tokens to
// wrappers that report to the audit, and import the real sources themselves. Library code is not changed.
const wrap = (name) => new URL(`./wrap/${name}.ts`, import.meta.url).href;
const wrappers = new Map([
  ['@sluice/core', wrap('core')],
  ['@sluice/auth-token', wrap('auth-token')],
  ['@sluice/mock-server', wrap('mock-server')],
  ['@sluice/mock-server/node', wrap('mock-server-node')],
]);

export async function resolve(specifier, context, next) {
  const url = wrappers.get(specifier);
  if (url && !context.parentURL?.includes('/test/audit/wrap/')) return next(url, context);
  return next(specifier, context);
}
