/** A secret for the token store: a string of at least 32 characters (`openssl rand -base64 32`), or at least 32 random bytes. */
export type EncryptionKey = string | Uint8Array;

/** How a token is kept in Redis: `fp` names it for compare-and-delete; `seal`/`open` hide it from readers of Redis. */
export interface Sealer {
  /** A tag for the token that does not reveal it: HMAC-SHA-256 with a key derived from the secret (SHA-256 in plaintext mode). */
  fingerprint(token: string): Promise<string>;
  seal(plain: string, context: string): Promise<string>;
  /** `undefined` when the value was sealed with another secret, altered, or moved to another key. */
  open(sealed: string, context: string): Promise<string | undefined>;
}

const encoder = new TextEncoder();
const b64 = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const unb64 = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

function checkKey(key: EncryptionKey): void {
  if (typeof key === 'string' && key.length >= 32) return;
  if (key instanceof Uint8Array && key.byteLength >= 32) return;
  throw new TypeError('`encryptionKey` must be a string of at least 32 characters or at least 32 bytes (`openssl rand -base64 32`)');
}

/**
 * AES-256-GCM with a random 96-bit IV per write, its key and the fingerprint's HMAC key derived from the secret by HKDF-SHA-256.
 * The Redis key is the associated data, so a value copied under another key does not open.
 */
export function aesSealer(secret: EncryptionKey): Sealer {
  checkKey(secret);
  const raw = typeof secret === 'string' ? encoder.encode(secret) : secret.slice();
  let keys: Promise<{ aes: CryptoKey; mac: CryptoKey }> | undefined;
  const derive = () =>
    (keys ??= (async () => {
      const base = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']);
      const params = (info: string) => ({
        name: 'HKDF',
        hash: 'SHA-256',
        salt: encoder.encode('sluice-redis'),
        info: encoder.encode(info),
      });
      const aes = await crypto.subtle.deriveKey(params('token-aes-gcm'), base, { name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      const mac = await crypto.subtle.deriveKey(params('token-hmac'), base, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, [
        'sign',
      ]);
      return { aes, mac };
    })());
  return {
    async fingerprint(token) {
      const { mac } = await derive();
      return b64(new Uint8Array(await crypto.subtle.sign('HMAC', mac, encoder.encode(token)), 0, 16));
    },
    async seal(plain, context) {
      const { aes } = await derive();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
        aes,
        encoder.encode(plain),
      );
      return `${b64(iv)}.${b64(new Uint8Array(data))}`;
    },
    async open(sealed, context) {
      const [iv, data] = sealed.split('.');
      try {
        const { aes } = await derive();
        const params = { name: 'AES-GCM', iv: unb64(iv as string), additionalData: encoder.encode(context) };
        return new TextDecoder().decode(await crypto.subtle.decrypt(params, aes, unb64(data as string)));
      } catch {
        return undefined;
      }
    },
  };
}

/** No encryption (`insecurePlaintext: true`): anyone who can read Redis can use the tokens. */
export function plainSealer(): Sealer {
  return {
    fingerprint: async (token) => b64(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token)), 0, 16)),
    seal: async (plain) => plain,
    open: async (sealed) => sealed,
  };
}
