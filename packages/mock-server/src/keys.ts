import { hashString } from './random.js';

/** A key's role, as chosen when the key is created in the console. */
export type Role = 'admin' | 'read-only';
/** What a route needs; a role grants a set of these. */
export type Permission = 'incidents:read' | 'events:read' | 'admin';

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = Object.freeze({
  admin: ['incidents:read', 'events:read', 'admin'],
  'read-only': ['incidents:read', 'events:read'],
});

/** API keys live at most a year, as in the vendor's console. */
export const MAX_KEY_VALIDITY_MS = 365 * 24 * 3600 * 1000;

export interface KeySpec {
  /** The secret the client sends as `api_key`. */
  key: string;
  /** Public id: the JWT `sub`, and the name in stats and admin listings. @default derived from a hash of the key */
  id?: string;
  /** Display name. @default the id */
  name?: string;
  role: Role;
  /** Expiry in server epoch milliseconds, at most a year ahead; a past date makes an expired key. */
  expiresAt?: number;
  /** Validity from creation in server milliseconds, at most a year; negative makes a key that already expired. @default one year */
  validForMs?: number;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly secret: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** The seeded keys. They are fake and local to the mock server, so printing them is fine. */
export const demoKeys: readonly KeySpec[] = Object.freeze([
  { id: 'demo-admin', name: 'Demo admin', key: 'mock_admin_key_0123456789', role: 'admin' },
  { id: 'demo-read-only', name: 'Demo read-only', key: 'mock_read_only_key_0123456789', role: 'read-only' },
  { id: 'demo-expired', name: 'Demo expired', key: 'mock_expired_key_0123456789', role: 'admin', validForMs: -86_400_000 },
]);

export interface KeyStore {
  add(spec: KeySpec, now: number): ApiKey;
  remove(id: string): boolean;
  bySecret(secret: string): ApiKey | undefined;
  byId(id: string): ApiKey | undefined;
  list(): ApiKey[];
}

function toKey(spec: KeySpec, now: number): ApiKey {
  if (typeof spec?.key !== 'string' || spec.key.length === 0) throw new TypeError('`key` must be a non-empty string');
  if (!Object.hasOwn(ROLE_PERMISSIONS, spec.role)) {
    throw new RangeError(`\`role\` must be one of ${Object.keys(ROLE_PERMISSIONS).join(', ')}, got ${String(spec.role)}`);
  }
  const expiresAt = spec.expiresAt ?? now + (spec.validForMs ?? MAX_KEY_VALIDITY_MS);
  if (!Number.isFinite(expiresAt)) throw new RangeError('`expiresAt` / `validForMs` must be finite numbers');
  if (expiresAt - now > MAX_KEY_VALIDITY_MS) {
    throw new RangeError(
      `an API key is valid for at most one year; ${spec.id ?? 'this key'} would be valid for ${Math.round((expiresAt - now) / 86_400_000)} days`,
    );
  }
  const id = spec.id ?? `key_${hashString(spec.key).toString(16).padStart(8, '0')}`;
  return { id, name: spec.name ?? id, role: spec.role, secret: spec.key, createdAt: now, expiresAt };
}

export function createKeyStore(): KeyStore {
  const secrets = new Map<string, ApiKey>();
  const ids = new Map<string, ApiKey>();
  return {
    add(spec, now) {
      const key = toKey(spec, now);
      if (ids.has(key.id)) throw new RangeError(`an API key with id ${key.id} already exists`);
      if (secrets.has(key.secret)) throw new RangeError(`that API key already exists (id ${secrets.get(key.secret)?.id})`);
      ids.set(key.id, key);
      secrets.set(key.secret, key);
      return key;
    },
    remove(id) {
      const key = ids.get(id);
      if (!key) return false;
      ids.delete(id);
      secrets.delete(key.secret);
      return true;
    },
    bySecret: (secret) => secrets.get(secret),
    byId: (id) => ids.get(id),
    list: () => [...ids.values()],
  };
}

export function hasPermission(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}
