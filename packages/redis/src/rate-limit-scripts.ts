// The memory store's algorithm (packages/rate-limit/src/store.ts), one script per method, so each runs atomically
// on the server. Times come from the caller's clock; key TTLs only collect garbage. Numbers travel as strings
// formatted with 17 digits, since Redis would truncate a Lua number to an integer.
// State hash fields: p paused until; b budget left until t, learnt from the answer to send s; q probing; n the next
// send's number, z the first of this hash's; and per bucket rule, under its key's name, its theoretical arrival time.

const common = `
local function f(x) return string.format('%.17g', x) end
local function keep(key, ms) if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, math.ceil(ms)) end end
-- A bucket rule (GCRA): folds the entries now has passed into its theoretical arrival time, kept in the state hash
-- under the rule's key; returns when the rule allows one more, as the part no release can bring forward (hard) and the
-- part one can (soft: entries still ahead, each taken as counted now).
local function bucket(state, key, now, limit, window, burst)
  local step = window / limit
  local g = tonumber(redis.call('HGET', state, key)) or -math.huge
  local past = redis.call('ZRANGEBYSCORE', key, '-inf', f(now), 'WITHSCORES')
  if #past > 0 then
    for k = 2, #past, 2 do g = math.max(g, tonumber(past[k])) + step end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', f(now))
    redis.call('HSET', state, key, f(g))
  end
  local n = redis.call('ZCARD', key)
  local soft = -math.huge
  if n >= burst then
    local ys = redis.call('ZRANGE', key, 0, n - burst, 'WITHSCORES')
    for k = 2, #ys, 2 do soft = math.max(soft, tonumber(ys[k]) + (n - k / 2 - burst + 2) * step) end
  end
  return g + (n - burst + 1) * step, soft, g, step
end
`;

/** KEYS: state, the endpoint's slots, one log per rule. ARGV: now, concurrency (-1: none), leaseMs, id, ttlMs, pollMs (-1: none), then per rule limit, windowMs, countFrom, burst (0: a sliding log). */
export const ACQUIRE = `${common}
local now, conc, lease, id, ttl, poll = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local st = redis.call('HMGET', KEYS[1], 'p', 'b', 't', 'n')
local p, b, t, n = tonumber(st[1]) or 0, tonumber(st[2]) or 0, tonumber(st[3]) or 0, tonumber(st[4])
-- A new state numbers its sends above any number an expired one gave (1,024 per ms of the clock), so a late answer to
-- one of those is told apart (z) and cannot widen the budget.
if not n then
  n = math.floor(now) * 1024
  redis.call('HSET', KEYS[1], 'z', f(n))
end
-- hard: bounds nobody can bring forward (a pause, log entries already final); soft: ones another process's
-- release or sync can (its slots, its entries still in flight, a budget).
local hard, soft = p, 0
if now < t and b < 1 then soft = t end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if conc >= 0 and redis.call('ZCARD', KEYS[2]) >= conc then
  soft = math.max(soft, tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]))
end
for i = 3, #KEYS do
  local j = 7 + (i - 3) * 4
  if tonumber(ARGV[j + 3]) > 0 then
    local h, s = bucket(KEYS[1], KEYS[i], now, tonumber(ARGV[j]), tonumber(ARGV[j + 1]), tonumber(ARGV[j + 3]))
    hard, soft = math.max(hard, h), math.max(soft, s)
  else
    local e = redis.call('ZREVRANGE', KEYS[i], ARGV[j] - 1, ARGV[j] - 1, 'WITHSCORES')[2]
    if e then
      e = tonumber(e)
      if e <= now then hard = math.max(hard, e + ARGV[j + 1]) else soft = math.max(soft, e + ARGV[j + 1]) end
    end
  end
end
local at = math.max(hard, soft)
if at > now then
  if poll >= 0 and soft > hard then at = math.max(hard, math.min(soft, now + poll)) end
  return {0, f(at)}
end
redis.call('ZADD', KEYS[2], f(now + lease), id)
keep(KEYS[2], ttl)
for i = 3, #KEYS do
  local j = 7 + (i - 3) * 4
  redis.call('ZADD', KEYS[i], f(now + ARGV[j + 2]), id)
  if tonumber(ARGV[j + 3]) == 0 and redis.call('ZCARD', KEYS[i]) > tonumber(ARGV[j]) then redis.call('ZREMRANGEBYRANK', KEYS[i], 0, 0) end
  keep(KEYS[i], ttl)
end
redis.call('HSET', KEYS[1], 'b', f(b - 1), 'n', f(n + 1))
keep(KEYS[1], ttl)
return {1, f(n)}
`;

/** KEYS: the endpoint's slots, then the logs. ARGV: id, countedBy. Moves the slot's end and the entries earlier, never later; at -inf (never sent), removes them. */
export const RELEASE = `
for i = 1, #KEYS do
  if ARGV[2] == '-inf' then redis.call('ZREM', KEYS[i], ARGV[1]) else redis.call('ZADD', KEYS[i], 'XX', 'LT', ARGV[2], ARGV[1]) end
end
return 1
`;

/** KEYS: state, then the logs. ARGV: until, now, refused (1/0), ttlMs, then per rule limit, windowMs, burst (0: a log). Returns the pause's end, or 0. */
export const PAUSE = `${common}
local upto, now, refused, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
local st = redis.call('HMGET', KEYS[1], 'p', 'b', 't', 'q', 'n')
local p, b, t, q, n = tonumber(st[1]) or 0, tonumber(st[2]) or 0, tonumber(st[3]) or 0, st[4] == '1', tonumber(st[5]) or 0
-- A budget the server said is spent lasts to its reset, whatever shorter wait a 429 asks for.
if now < t and b < 1 and not q then upto = math.max(upto, t) end
if upto <= p then return '0' end
local longest = 0
for i = 2, #KEYS do longest = math.max(longest, tonumber(ARGV[3 + (i - 1) * 3])) end
if not refused then
  local free = 0
  for i = 2, #KEYS do
    local j = 2 + (i - 1) * 3
    local burst = tonumber(ARGV[j + 2])
    if burst > 0 then
      local h, s = bucket(KEYS[1], KEYS[i], now, tonumber(ARGV[j]), tonumber(ARGV[j + 1]), burst)
      free = math.max(free, h, s)
    else
      -- An entry whose window has passed frees nothing more (the memory store has dropped it).
      local e = redis.call('ZREVRANGE', KEYS[i], ARGV[j] - 1, ARGV[j] - 1, 'WITHSCORES')[2]
      if e and e + ARGV[j + 1] > now then free = math.max(free, e + ARGV[j + 1]) end
    end
  end
  if upto <= free + 1000 then return '0' end
end
redis.call('HSET', KEYS[1], 'p', f(upto), 'q', '1', 'b', '1', 's', f(n), 't', f(upto + longest))
local life = ttl + upto - now
keep(KEYS[1], life)
if refused then
  -- Assume the server full: from upto on it frees one request per windowMs / limit.
  for i = 2, #KEYS do
    local j = 2 + (i - 1) * 3
    local limit, window, burst = tonumber(ARGV[j]), tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
    local step = window / limit
    if burst > 0 then
      -- What is counted by then is in the bucket before it empties.
      local _, _, g = bucket(KEYS[1], KEYS[i], upto, limit, window, burst)
      redis.call('HSET', KEYS[1], KEYS[i], f(math.max(g, upto + (burst - 1) * step)))
    else
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', f(upto - step))
      for k = 0, limit - 1 do redis.call('ZADD', KEYS[i], f(upto - window + k * step), 'fill:' .. f(upto) .. ':' .. k) end
      local over = redis.call('ZCARD', KEYS[i]) - limit
      if over > 0 then redis.call('ZREMRANGEBYRANK', KEYS[i], 0, over - 1) end
    end
    keep(KEYS[i], life)
  end
end
return f(upto)
`;

/** KEYS: state. ARGV: seq, now, remaining ('' when unknown), resetAt ('' when unknown). */
export const SYNC = `${common}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 's', 't', 'q', 'n', 'z')
local s, t, n = tonumber(st[1]) or 0, tonumber(st[2]) or 0, tonumber(st[4]) or 0
-- An answer to a send of an expired state, or older news than the budget held: the server may not have counted what
-- was sent since.
if seq < (tonumber(st[5]) or 0) or (seq < s and now < t) then return 0 end
if st[3] == '1' then redis.call('HSET', KEYS[1], 'q', '0') elseif ARGV[3] == '' then return 0 end
redis.call('HSET', KEYS[1], 't', '0')
if ARGV[3] == '' or ARGV[4] == '' then return 0 end
redis.call('HSET', KEYS[1], 'b', f(tonumber(ARGV[3]) - (n - seq - 1)), 't', ARGV[4], 's', f(seq))
return 1
`;
