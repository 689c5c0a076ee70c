import type { Permission } from './keys.js';

export type RouteName = 'token' | 'incidents.list' | 'event-details' | 'event-details.path' | 'admin.api-keys';

export interface Route {
  readonly name: RouteName;
  /** The route template, as the `route` concurrency scope counts it. */
  readonly template: string;
  readonly methods: readonly string[];
  /** What the key's role needs; the token exchange needs none (it takes an API key, not a token). */
  readonly permission: Permission | undefined;
}

export interface RouteMatch {
  route: Route;
  /** The `{ids}` segment of the path form of event details. */
  ids?: string;
}

const ROUTES: readonly Route[] = [
  { name: 'token', template: '/v2/auth/token/access', methods: ['POST'], permission: undefined },
  { name: 'incidents.list', template: '/v2/incidents/list', methods: ['POST'], permission: 'incidents:read' },
  { name: 'event-details', template: '/v2/event-details', methods: ['GET', 'POST'], permission: 'events:read' },
  { name: 'event-details.path', template: '/v2/event-details/{ids}', methods: ['GET'], permission: 'events:read' },
  { name: 'admin.api-keys', template: '/v2/admin/api-keys', methods: ['GET'], permission: 'admin' },
];

const byPath = new Map(ROUTES.filter((r) => !r.template.includes('{')).map((r) => [r.template, r]));
const eventPath = ROUTES.find((r) => r.name === 'event-details.path') as Route;

export function matchRoute(path: string): RouteMatch | undefined {
  const route = byPath.get(path);
  if (route) return { route };
  const ids = /^\/v2\/event-details\/([^/]+)$/.exec(path)?.[1];
  return ids === undefined ? undefined : { route: eventPath, ids };
}

export const routes = ROUTES;
