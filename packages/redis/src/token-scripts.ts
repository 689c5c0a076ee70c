/** KEYS: token. */
export const GET = `return redis.call('GET', KEYS[1])`;

/** KEYS: token. ARGV: value, ttlMs. */
export const SET = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`;

/** KEYS: token. ARGV: the value's prefix naming the token (mode and fingerprint). Deletes only while it still holds that token. */
export const DELETE_IF = `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS: lock. ARGV: owner, now, until, gcMs. Takes (or extends) the lock unless another owner holds it until after now.
 * The expiry is the caller's clock time in the value; the key's own TTL only collects garbage.
 */
export const LOCK = `
local v = redis.call('GET', KEYS[1])
if v then
  local owner, expires = string.match(v, '^(.-)|(.+)$')
  if owner ~= ARGV[1] and tonumber(expires) and tonumber(expires) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[4])
return 1
`;

/** KEYS: lock. ARGV: owner. Releases the lock only if this owner still holds it. */
export const UNLOCK = `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then return redis.call('DEL', KEYS[1]) end
return 0
`;
