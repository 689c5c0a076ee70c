const fingerprints = new Map<string, Promise<string>>();

/**
 * Short, non-reversible fingerprint of a key: the first 12 hex digits of its SHA-256. Remembered for the
 * last few keys, so only the first exchange with a key waits for `crypto.subtle`.
 */
export function keyFingerprint(key: string): Promise<string> {
  let id = fingerprints.get(key);
  if (!id) {
    id = crypto.subtle
      .digest('SHA-256', new TextEncoder().encode(key))
      .then((digest) => Array.from(new Uint8Array(digest, 0, 6), (b) => b.toString(16).padStart(2, '0')).join(''));
    if (fingerprints.size >= 8) fingerprints.delete(fingerprints.keys().next().value as string);
    fingerprints.set(key, id);
  }
  return id;
}
