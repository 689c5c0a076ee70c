// Maps kept in the order their entries were last used, so that a bounded one forgets the least recently used first.

/** The value of `key`, made the most recently used; undefined when there is none. */
export function touch<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  map.delete(key);
  map.set(key, value);
  return value;
}

/** Sets `key` to `value` as the most recently used, forgetting the least recently used past `max` entries; returns `value`. */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}

/** Adds `by` to the count of `key`, which is gone once it reaches 0. */
export function tally<K>(counts: Map<K, number>, key: K, by: number) {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
