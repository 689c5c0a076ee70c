// The memory store's algorithm (packages/rate-limit/src/store.ts and rule-state.ts), one script per method, so each runs
// atomically on the server. Functions and fields carry the memory store's names. Times come from the caller's clock;
// key TTLs only collect garbage. Numbers travel as strings formatted with 17 digits, since Redis would truncate a Lua
// number to an integer.
//
// Keys of one API key, all with its hash tag: the key's state (a hash, fields as in the memory store's KeyState), the
// endpoint's slots (a sorted set: send number by slot end), and per rule its state (a string: the rule state packed with
// cmsgpack, a few hundred bytes at most whatever the limit) and its requests in flight (a sorted set: send number by
// the latest instant it can be counted at).

const common = `
local LOG_CELLS = 64
local HEADER_RESOLUTION_MS = 1000
local INF = math.huge
local function f(x) return string.format('%.17g', x) end
local function opt(x) if x == nil or x == '' then return nil end return tonumber(x) end
local function keep(key, ms) if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, math.ceil(ms)) end end

-- Rules come as ARGV groups of RULE_ARGS from \`first\`: id, limit, windowMs, jitterMs (-1: none), burst (0: a sliding
-- log), then what a learnt rule starts from ('' for a rule given by hand): learnt (1/0), fromLog (1/0), followsQuota
-- (1/0), counted, at, fullUntil, newestAt. Each rule's state and in-flight set are the KEYS pair from \`firstKey\`;
-- learnt rules share one in-flight set (each counts every request of the key, whatever rule it was sent under).
local RULE_ARGS = 12
local function read_rules(first, firstKey)
  local rules = {}
  local i = 0
  while ARGV[first + i * RULE_ARGS] do
    local a = first + i * RULE_ARGS
    local jitter = tonumber(ARGV[a + 3])
    rules[i + 1] = {
      id = ARGV[a], limit = tonumber(ARGV[a + 1]), windowMs = tonumber(ARGV[a + 2]),
      jitterMs = jitter < 0 and INF or jitter, burst = tonumber(ARGV[a + 4]),
      learnt = ARGV[a + 5] == '1', fromLog = ARGV[a + 6] == '1', followsQuota = ARGV[a + 7] == '1',
      counted = opt(ARGV[a + 8]), at = opt(ARGV[a + 9]), fullUntil = opt(ARGV[a + 10]),
      newestAt = opt(ARGV[a + 11]),
      stateKey = KEYS[firstKey + i * 2], pendingKey = KEYS[firstKey + i * 2 + 1], index = i + 1,
    }
    i = i + 1
  end
  return rules
end

local function load_state(rule)
  local packed = redis.call('GET', rule.stateKey)
  local state = packed and cmsgpack.unpack(packed) or {}
  state.entries = state.entries or {}
  state.counts = state.counts or {}
  state.ahead = state.ahead or {}
  rule.state = state
  rule.fresh = not packed
  rule.inFlight = redis.call('ZCARD', rule.pendingKey)
  return state
end

-- Sets of requests in flight that this script already took a member from (learnt rules share one): member to whether it was there.
local removed = {}
local function remove_pending(rule, seq)
  local id = rule.pendingKey .. '#' .. f(seq)
  if removed[id] == nil then removed[id] = redis.call('ZREM', rule.pendingKey, f(seq)) == 1 end
  return removed[id]
end

local function save_state(rule, ttl)
  redis.call('SET', rule.stateKey, cmsgpack.pack(rule.state), 'PX', math.ceil(ttl))
end

local function step_of(rule) return rule.windowMs / rule.limit end
local function cell_of(rule) if rule.limit > LOG_CELLS then return rule.windowMs / LOG_CELLS end return 0 end
local function same_cell(cell, a, b) if cell > 0 then return math.ceil(a / cell) == math.ceil(b / cell) end return a == b end

local function add_entry(rule, at, count)
  local entries, counts = rule.state.entries, rule.state.counts
  local cell, assumedUntil = cell_of(rule), rule.state.assumedUntil
  local function joins(entry)
    return same_cell(cell, entry, at) and (not assumedUntil or (entry >= assumedUntil) == (at >= assumedUntil))
  end
  local i = #entries + 1
  while i > 1 and entries[i - 1] > at do i = i - 1 end
  if i > 1 and joins(entries[i - 1]) then
    entries[i - 1] = at
    counts[i - 1] = counts[i - 1] + count
  elseif i <= #entries and joins(entries[i]) then
    counts[i] = counts[i] + count
  else
    table.insert(entries, i, at)
    table.insert(counts, i, count)
  end
end

local function record(rule, at)
  if rule.burst > 0 then
    local ahead = rule.state.ahead
    local i = #ahead + 1
    while i > 1 and ahead[i - 1] > at do i = i - 1 end
    table.insert(ahead, i, at)
  else
    add_entry(rule, at, 1)
  end
end

local function unrecord(rule, at)
  if rule.burst > 0 then return end
  local entries, counts = rule.state.entries, rule.state.counts
  local cell = cell_of(rule)
  for i = 1, #entries do
    if same_cell(cell, entries[i], at) then
      counts[i] = counts[i] - 1
      if counts[i] == 0 then
        table.remove(entries, i)
        table.remove(counts, i)
      end
      return
    end
  end
end

-- A bucket keeps its arrival times as ms after its origin (its first instant): at a limit of millions a window the step is
-- below what a double holds of an epoch time.
local function offset_of(rule, at)
  if not rule.state.origin then rule.state.origin = at end
  return at - rule.state.origin
end

local function fold(rule, at)
  local state, step = rule.state, step_of(rule)
  local offset = offset_of(rule, at)
  state.arrival = math.max(state.arrival or -INF, offset) + step
  if at >= (state.emptiedAt or -INF) then state.assumedArrival = math.max(state.assumedArrival or -INF, offset) + step end
end

-- What each in-flight set held that is past: read and removed once per script, however many rules share it.
local settled = {}
local function settle(rule, now)
  local past = settled[rule.pendingKey]
  if not past then
    past = redis.call('ZRANGEBYSCORE', rule.pendingKey, '-inf', f(now), 'WITHSCORES')
    if #past > 0 then redis.call('ZREMRANGEBYSCORE', rule.pendingKey, '-inf', f(now)) end
    settled[rule.pendingKey] = past
  end
  if #past > 0 then
    for k = 2, #past, 2 do record(rule, tonumber(past[k])) end
    rule.inFlight = rule.inFlight - #past / 2
  end
  local state = rule.state
  if rule.burst > 0 then
    local ahead, kept = state.ahead, {}
    for k = 1, #ahead do if ahead[k] <= now then fold(rule, ahead[k]) else kept[#kept + 1] = ahead[k] end end
    state.ahead = kept
    return
  end
  local gone = 0
  while gone < #state.entries and state.entries[gone + 1] + rule.windowMs <= now do gone = gone + 1 end
  for k = 1, gone do
    table.remove(state.entries, 1)
    table.remove(state.counts, 1)
  end
  if state.assumedUntil and state.assumedUntil - state.assumedStep + rule.windowMs <= now then
    state.assumedUntil, state.assumedStep = nil, nil
  end
end

local function assumed_up_to(rule, at)
  local state = rule.state
  if not state.assumedUntil then return -1 end
  local index = math.floor((at - (state.assumedUntil - rule.windowMs)) / state.assumedStep)
  return math.max(-1, math.min(rule.limit - 1, index))
end

local function latest_of(rule, room, from)
  local state = rule.state
  local withAssumed = state.assumedUntil ~= nil and from == state.assumedUntil
  local counted, above = 0, INF
  for i = #state.entries, 0, -1 do
    local entry = i >= 1 and state.entries[i] or -INF
    local own = entry >= from
    if withAssumed then
      local last = assumed_up_to(rule, above)
      local between = last - assumed_up_to(rule, own and entry or -INF)
      if counted + between >= room then return state.assumedUntil - rule.windowMs + (last - (room - counted - 1)) * state.assumedStep end
      counted = counted + between
    end
    if not own or i == 0 then break end
    counted = counted + state.counts[i]
    if counted >= room then return entry end
    above = entry
  end
  return -INF
end

-- When the rule lets one more go, and whether a release of a request in flight could bring that forward.
local function rule_wait(rule, now)
  local state, step = rule.state, step_of(rule)
  if rule.burst > 0 then
    local nowOffset = offset_of(rule, now)
    local start = math.max(state.arrival or -INF, state.assumedArrival or -INF, nowOffset)
    local inFlight = rule.inFlight + #state.ahead
    local at = start + (inFlight - rule.burst + 1) * step
    -- Sums of steps carry rounding noise: a billionth of a step is no wait.
    if at <= nowOffset + step * 1e-9 then return 0, false end
    -- Back in epoch time a wait under a microsecond may round to now: it must stay a wait.
    local epochAt = state.origin + at
    if epochAt <= now then epochAt = now + math.max(math.abs(now) * 2.220446049250313e-16, 1e-300) end
    return epochAt, inFlight > 0 and at > math.max(nowOffset, start + (1 - rule.burst) * step)
  end
  local room = rule.limit - rule.inFlight
  if room <= 0 then return INF, true end
  local at = latest_of(rule, room, -INF)
  if state.assumedUntil then at = math.max(at, latest_of(rule, room, state.assumedUntil)) end
  at = at + rule.windowMs
  if at > now then return at, rule.inFlight > 0 end
  return 0, false
end

local function counted_since(rule, sentAt)
  local since, state = sentAt - rule.windowMs, rule.state
  local counted = rule.inFlight
  for i = #state.entries, 1, -1 do
    if state.entries[i] <= since then break end
    counted = counted + state.counts[i]
  end
  return counted
end

local function fill(rule, untilAt)
  local state = rule.state
  if rule.burst > 0 then
    state.emptiedAt = untilAt
    state.assumedArrival = offset_of(rule, untilAt) + (rule.burst - 1) * step_of(rule)
  else
    state.assumedUntil, state.assumedStep = untilAt, step_of(rule)
  end
end

local function longest_window(rules)
  local longest = 0
  for _, rule in ipairs(rules) do longest = math.max(longest, rule.windowMs) end
  return longest
end

-- How long a quota stated without its reset or window lasts: the shortest rule's window (the longest may be a day).
local function shortest_window(rules)
  local shortest
  for _, rule in ipairs(rules) do shortest = math.min(shortest or rule.windowMs, rule.windowMs) end
  return shortest or 0
end

local FIELDS = { 'pausedUntil', 'probe', 'probeUntil', 'budgetLeft', 'budgetUntil', 'budgetFrom', 'refusals', 'pauseSeq',
  'exchangeCounted', 'exchangeSeq', 'exchangeSentAt', 'exchangeAnsweredAt', 'nextSeq', 'firstSeq', 'waitingAt',
  'quotaEpoch', 'quotaUntil', 'quotaFloor', 'quotaStartedAt', 'quotaEarlyAfter', 'quotaLastReset', 'quotaAllBack',
  'refillLo', 'refillHi', 'refillArmed', 'refillRefused', 'refillShown', 'quotaMost', 'pendingLast', 'learntRules' }

local function load_key(stateKey)
  local values = redis.call('HMGET', stateKey, unpack(FIELDS))
  local k = {}
  for i, name in ipairs(FIELDS) do k[name] = values[i] or '' end
  for _, name in ipairs({ 'pausedUntil', 'probeUntil', 'budgetLeft', 'budgetUntil', 'budgetFrom', 'refusals', 'pauseSeq',
    'exchangeSeq', 'exchangeSentAt', 'exchangeAnsweredAt', 'nextSeq', 'firstSeq', 'waitingAt', 'quotaEpoch', 'quotaUntil',
    'quotaFloor', 'quotaStartedAt', 'quotaEarlyAfter', 'quotaLastReset', 'quotaAllBack', 'refillLo', 'refillHi',
    'refillArmed', 'refillRefused', 'refillShown', 'quotaMost', 'pendingLast' }) do
    k[name] = opt(k[name])
  end
  k.pausedUntil, k.refusals = k.pausedUntil or 0, k.refusals or 0
  k.budgetUntil, k.budgetLeft, k.budgetFrom = k.budgetUntil or 0, k.budgetLeft or 0, k.budgetFrom or 0
  -- A followed quota's epoch whose first answer is not in yet lasts until it is (kept as '': Lua prints infinity as inf).
  if k.quotaEpoch and not k.quotaUntil then k.quotaUntil = INF end
  return k
end

local function save_key(stateKey, k, ttl)
  local pairs_ = {}
  for _, name in ipairs(FIELDS) do
    local value = k[name]
    if value == nil or value == INF then value = '' elseif type(value) == 'number' then value = f(value) end
    pairs_[#pairs_ + 1] = name
    pairs_[#pairs_ + 1] = value
  end
  redis.call('HSET', stateKey, unpack(pairs_))
  keep(stateKey, ttl)
end

-- The quota followed where no rule is known yet (the memory store's FollowedQuota): an epoch from send quotaEpoch on, at
-- quotaStartedAt, until quotaUntil, the lowest remaining of its answers quotaFloor (nil: none yet), whether its first
-- answer found all back quotaAllBack (1/0); started early, quotaEarlyAfter after the last began, before its reset
-- quotaLastReset.
local function new_epoch(k, seq, untilAt, startedAt, early)
  if early then
    k.quotaEarlyAfter, k.quotaLastReset = startedAt - k.quotaStartedAt, k.quotaUntil
  else
    k.quotaEarlyAfter, k.quotaLastReset = nil, nil
  end
  k.quotaEpoch, k.quotaUntil, k.quotaFloor, k.quotaStartedAt, k.quotaAllBack = seq, untilAt, nil, startedAt, nil
end

-- The refill search (quota-refill.ts's RefillSearch): above refillLo, by refillHi; refillArmed, refillShown (1/0);
-- refillRefused early epochs that found none back.
local REFUSED_TO_END = 2
local function worth_searching(limit, windowMs) return limit * HEADER_RESOLUTION_MS > 2 * (windowMs + HEADER_RESOLUTION_MS) end
local function close_enough(hi) return math.max(8, hi / 32) end
local function early_after(k)
  if k.refillHi - k.refillLo > close_enough(k.refillHi) then return math.ceil((k.refillLo + k.refillHi) / 2) end
  return k.refillHi
end
local function end_refill(k)
  k.refillLo, k.refillHi, k.refillArmed, k.refillRefused, k.refillShown = nil, nil, nil, nil, nil
end
local function keeps_back(k)
  return k.refillLo ~= nil and k.refillArmed == 1 and (k.refillShown == 1 or k.refillRefused < REFUSED_TO_END)
end

-- Whether an answer found all of its quota back: only the request answered counted.
local function found_all_back(answer) return answer.limit ~= nil and answer.remaining ~= nil and answer.remaining >= answer.limit - 1 end

local function search_refill(k, answer)
  local limit, remaining, resetAt = answer.limit, answer.remaining, answer.resetAt
  if not limit or not remaining or not resetAt or not answer.resetInWholeSeconds then return end_refill(k) end
  local allBack = found_all_back(answer)
  if not k.quotaEarlyAfter then
    if k.refillLo then
      if allBack or k.refillArmed == 1 then k.refillArmed = 1 else end_refill(k) end
      return
    end
    local resetIn = resetAt - k.quotaStartedAt
    if allBack and worth_searching(limit, resetIn) then
      k.refillLo, k.refillHi, k.refillArmed = math.max(0, resetIn - HEADER_RESOLUTION_MS), resetIn, 0
      k.refillRefused, k.refillShown = 0, 0
    end
    return
  end
  if not k.refillLo then return end
  local after = k.quotaEarlyAfter
  if allBack and answer.at < (k.quotaLastReset or INF) then
    k.refillHi, k.refillShown = math.min(k.refillHi, after), 1
    return
  end
  if remaining == 0 then k.refillRefused = k.refillRefused + 1 end
  k.refillLo = math.max(k.refillLo, after)
  if k.refillLo >= k.refillHi then k.refillHi = k.refillLo + 2 * close_enough(k.refillHi) end
end

-- The followed quota's answer with its size: the limit stated, else the most any answer said was left, plus one.
local function sized_quota(k, answer)
  if answer.limit or not answer.remaining then return answer end
  k.quotaMost = math.max(k.quotaMost or 0, answer.remaining)
  local sized = {}
  for name, value in pairs(answer) do sized[name] = value end
  sized.limit = k.quotaMost + 1
  return sized
end

local function follow(k, seq, answer)
  if answer.status == nil or answer.remaining == nil then
    if k.quotaFloor then k.quotaFloor = k.quotaFloor - 1 end
    if seq == k.quotaEpoch then k.quotaUntil = 0 end
    return
  end
  k.quotaFloor = math.min(k.quotaFloor or INF, answer.remaining)
  if seq == k.quotaEpoch then
    k.quotaUntil = answer.resetAt or answer.at
    k.quotaAllBack = found_all_back(answer) and 1 or 0
  elseif seq > k.quotaEpoch and answer.resetAt then
    k.quotaUntil = math.max(k.quotaUntil, answer.resetAt)
  end
end

-- A learnt rule with no state yet starts as its startsFrom says: from a copy of the log of a rule the key used last and
-- uses no more whose window is at least as long, else from what the server was seen to count. Remembers the learnt
-- rules in use, for the next change and for releases of requests sent under these.
local function start_learnt(k, rules)
  local used, current = {}, {}
  for _, rule in ipairs(rules) do
    if rule.learnt then
      used[#used + 1] = { rule.id, rule.limit, rule.windowMs }
      current[rule.id] = true
    end
  end
  if #used == 0 then return end
  local previous = k.learntRules ~= '' and cmsgpack.unpack(k.learntRules) or {}
  for _, rule in ipairs(rules) do
    if rule.learnt and rule.fresh then
      local best
      if rule.fromLog then
        for _, p in ipairs(previous) do
          if not current[p[1]] and p[3] >= rule.windowMs and (not best or p[3] < best[3]) then best = p end
        end
      end
      local packed = best and redis.call('GET', KEYS[1] .. ':rule:' .. best[1])
      if packed then
        local state = cmsgpack.unpack(packed)
        state.entries, state.counts, state.ahead = state.entries or {}, state.counts or {}, state.ahead or {}
        rule.state = state
      elseif rule.fullUntil then
        fill(rule, rule.fullUntil)
      elseif rule.counted and rule.counted > 0 and rule.at then
        add_entry(rule, rule.at, math.min(rule.counted, rule.limit))
        if rule.newestAt then record(rule, rule.newestAt) end
      end
    end
  end
  k.learntRules = cmsgpack.pack(used)
end

-- The learnt rules the key uses now that \`rules\` (a request's, sent before they changed) lacks, with a state: a
-- release counts for them too, as for a rule that took over the log it was sent under.
local function current_learnt(k, rules)
  if k.learntRules == '' then return {} end
  local known, extra = {}, {}
  for _, rule in ipairs(rules) do known[rule.id] = true end
  for _, p in ipairs(cmsgpack.unpack(k.learntRules)) do
    local stateKey = KEYS[1] .. ':rule:' .. p[1]
    if not known[p[1]] and redis.call('EXISTS', stateKey) == 1 then
      extra[#extra + 1] = { id = p[1], limit = p[2], windowMs = p[3], jitterMs = INF, burst = 0, learnt = true,
        stateKey = stateKey, pendingKey = KEYS[1] .. ':pending:learnt', index = #rules + #extra + 1 }
    end
  end
  return extra
end

local function hold(k, untilAt)
  k.pausedUntil = untilAt
  k.probe = 'due'
end

local function rule_refusing(rules, answer, delay, refusals)
  for _, rule in ipairs(rules) do
    if rule.limit == answer.limit and (answer.windowMs == nil or rule.windowMs == answer.windowMs) then return rule end
  end
  local byWindow = {}
  for _, rule in ipairs(rules) do byWindow[#byWindow + 1] = rule end
  table.sort(byWindow, function(a, b) if a.windowMs ~= b.windowMs then return a.windowMs < b.windowMs end return a.index < b.index end)
  local able = {}
  for _, rule in ipairs(byWindow) do if rule.windowMs + HEADER_RESOLUTION_MS >= delay then able[#able + 1] = rule end end
  if #able == 0 then able = { byWindow[#byWindow] } end
  return able[math.min(refusals, #able)]
end

local function refuse(k, rules, seq, answer)
  local spent = 0
  if answer.remaining == 0 and answer.resetAt then spent = answer.resetAt end
  local untilAt = math.max(answer.retryAt or answer.at, spent)
  local sameEpisode = seq < (k.pauseSeq or -INF)
  if answer.at > k.pausedUntil + longest_window(rules) then k.refusals = 0 end
  if not sameEpisode then k.refusals = k.refusals + 1 end
  if sameEpisode and untilAt <= k.pausedUntil then return nil end
  k.pauseSeq = k.nextSeq
  if not sameEpisode and not answer.concurrencyRefused then
    local rule = rule_refusing(rules, answer, untilAt - answer.at, math.max(1, k.refusals))
    if rule then fill(rule, untilAt) end
  end
  if untilAt <= k.pausedUntil then return nil end
  hold(k, untilAt)
  return { untilAt, '429' }
end

local function learn_exchange(k, rules, seq, answer)
  if not k.exchangeSeq then return nil end
  if k.exchangeSeq == seq then
    k.exchangeAnsweredAt = answer.at
    if answer.remaining == nil or k.exchangeCounted == '1' then return nil end
    k.exchangeCounted = '1'
    return '1'
  end
  if k.exchangeCounted ~= '' or k.exchangeAnsweredAt == nil or answer.remaining == nil then return nil end
  if answer.sentAt < k.exchangeAnsweredAt then return nil end
  local rule
  for _, r in ipairs(rules) do if r.limit == answer.limit then rule = r break end end
  if not rule and #rules == 1 then rule = rules[1] end
  local limit = answer.limit or (rule and rule.limit)
  local windowMs = answer.windowMs or (rule and rule.windowMs)
  if not limit or not windowMs or limit < 2 then return nil end
  if answer.remaining ~= limit - 1 or k.exchangeSentAt <= answer.at - windowMs then return nil end
  k.exchangeCounted = '0'
  for i, r in ipairs(rules) do
    if remove_pending(r, k.exchangeSeq) then
      r.inFlight = r.inFlight - 1
    else
      local at = opt(redis.call('HGET', KEYS[1], 'exchangeAt:' .. i))
      if at then unrecord(r, at) end
    end
  end
  return '0'
end

local function tokens_left(rule, at)
  local state = rule.state
  local offset = offset_of(rule, at)
  local ahead = math.max(state.arrival or -INF, state.assumedArrival or -INF, offset) - offset
  return math.floor(rule.burst - ahead / step_of(rule)) - rule.inFlight - #state.ahead
end

local function explains(rules, answer)
  if answer.remaining == nil or #rules == 0 then return false end
  local least, named = INF, nil
  for _, rule in ipairs(rules) do
    local slack
    if rule.burst > 0 then slack = tokens_left(rule, answer.at) else slack = rule.limit - counted_since(rule, answer.sentAt) end
    if rule.limit == answer.limit and (answer.windowMs == nil or rule.windowMs == answer.windowMs) and named == nil then named = slack end
    least = math.min(least, slack)
  end
  return answer.remaining >= (named or least)
end

-- Returns { pausedUntil, reason, tokenExchangeCounted } as the memory store's Outcome, each '' when unset.
local function learn(k, rules, seq, answer)
  if seq < (k.firstSeq or -INF) then return { '', '', '' } end
  if tonumber(k.probe) and seq >= tonumber(k.probe) then k.probe = '' end
  if answer.quotaTrusted and answer.remaining and not k.quotaEpoch then new_epoch(k, seq, 0, answer.sentAt, false) end
  if k.quotaEpoch and (answer.quotaTrusted or not answer.status) then
    local stated = sized_quota(k, answer)
    if seq == k.quotaEpoch and answer.status and answer.status ~= 429 then search_refill(k, stated) end
    follow(k, seq, stated)
  elseif answer.status then
    k.quotaEpoch, k.quotaUntil, k.quotaFloor, k.quotaMost = nil, nil, nil, nil
    end_refill(k)
  end
  if answer.status == 429 then
    local paused = refuse(k, rules, seq, answer)
    if paused then return { f(paused[1]), paused[2], '' } end
    return { '', '', '' }
  end
  if answer.status then k.refusals = 0 end
  local learned = learn_exchange(k, rules, seq, answer) or ''
  if answer.remaining == nil or k.quotaEpoch then return { '', '', learned } end
  if seq < k.budgetFrom and answer.at < k.budgetUntil then return { '', '', learned } end
  if explains(rules, answer) then
    k.budgetLeft, k.budgetUntil, k.budgetFrom = 0, 0, seq
    return { '', '', learned }
  end
  local untilAt = answer.resetAt or (answer.at + (answer.windowMs or shortest_window(rules)))
  k.budgetLeft, k.budgetUntil, k.budgetFrom = answer.remaining - (k.nextSeq - seq - 1), untilAt, seq
  if answer.remaining > 0 or untilAt <= k.pausedUntil then return { '', '', learned } end
  local logHolds = 0
  for _, rule in ipairs(rules) do logHolds = math.max(logHolds, (rule_wait(rule, answer.at))) end
  if untilAt <= logHolds + HEADER_RESOLUTION_MS then return { '', '', learned } end
  hold(k, untilAt)
  return { f(untilAt), 'remaining', learned }
end
`;

/** A learnt policy the fleet shares is kept this long after the last request that used it (7 days). */
const POLICY_TTL_MS = 7 * 86_400_000;

/**
 * KEYS: the key's state, the endpoint's slots, the key's shared policy, then per rule its state and its in-flight set.
 * ARGV: now, concurrency (-1: none), leaseMs, ttlMs, pollMs (-1: none), tokenExchange (1/0), claim (an id the caller
 * made, to end the send should this answer be lost), the stamp of the shared policy the caller holds ('': it shares
 * none), the requests of the key waiting in the caller, then per rule its RULE_ARGS.
 * Returns { 1, seq, counted, stamp, policy, alone } or { 0, retryAt, 'key' | 'endpoint', stamp, policy }: stamp and
 * policy are the shared policy's when the caller holds another stamp, else ''; alone 1 when nothing else of the key
 * (without rules, of the endpoint) was in flight.
 */
export const ACQUIRE = `${common}
local now, concurrency, leaseMs, ttl, poll = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokenExchange, claim, knownStamp, waiting = ARGV[6] == '1', ARGV[7], ARGV[8], tonumber(ARGV[9])
local rules = read_rules(10, 4)
local k = load_key(KEYS[1])
-- A new state numbers its sends above any number an expired one gave (1,024 per ms of the clock), so a late answer to
-- one of those is told apart (firstSeq) and cannot widen the budget.
if not k.nextSeq then
  k.nextSeq = math.floor(now) * 1024
  k.firstSeq, k.pauseSeq = k.nextSeq, k.nextSeq
end
local sharedStamp, sharedPolicy = '', ''
if knownStamp ~= '' then
  local stored = redis.call('HMGET', KEYS[3], 'stamp', 'policy')
  if stored[1] and stored[1] ~= knownStamp then sharedStamp, sharedPolicy = stored[1], stored[2] or '' end
  if stored[1] and redis.call('PTTL', KEYS[3]) < ${POLICY_TTL_MS / 2} then redis.call('PEXPIRE', KEYS[3], ${POLICY_TTL_MS}) end
end
for _, rule in ipairs(rules) do load_state(rule) end
start_learnt(k, rules)
-- A key that follows its quota, made anew (its state expired while idle), knows none yet: one request goes first.
for _, rule in ipairs(rules) do if rule.followsQuota and not k.quotaEpoch then new_epoch(k, k.nextSeq, 0, 0, false) end end
-- hard: bounds no release can bring forward; soft: ones another process's release or answer can.
local hard, soft = k.pausedUntil, 0
if tonumber(k.probe) and now >= k.probeUntil then k.probe = 'due' end
local inFlight = rules[1] and rules[1].inFlight or 0
-- A followed quota's next epoch starts with a request sent alone, once the last epoch's reset is past and what was sent
-- in it is answered. With a refill search, an epoch that found all back keeps one request back while others wait, to
-- start the next early.
local earlyAt = (k.quotaEpoch and k.refillLo) and k.quotaStartedAt + early_after(k) or INF
local kept = (k.quotaEpoch and k.quotaAllBack == 1 and keeps_back(k) and waiting > 0 and earlyAt < k.quotaUntil) and 1 or 0
local floorLeft = (k.quotaFloor or INF) - inFlight
local early = k.quotaEpoch ~= nil and kept > 0 and now < k.quotaUntil and now >= earlyAt and floorLeft == kept
if k.quotaEpoch and (now >= k.quotaUntil or early) then
  if inFlight > 0 then
    soft = math.max(soft, k.pendingLast or tonumber(redis.call('ZRANGE', rules[1].pendingKey, -1, -1, 'WITHSCORES')[2]))
  elseif k.probe == '' then
    k.probe = 'due'
  end
elseif k.probe == 'due' and now >= k.pausedUntil + longest_window(rules) then
  k.probe = ''
end
if k.quotaEpoch and now < k.quotaUntil and not early and floorLeft < 1 + kept then
  hard = math.max(hard, floorLeft < 1 and k.quotaUntil or math.min(k.quotaUntil, earlyAt))
end
if tonumber(k.probe) then soft = math.max(soft, k.probeUntil) end
if now < k.budgetUntil and k.budgetLeft < 1 then soft = math.max(soft, k.budgetUntil) end
for _, rule in ipairs(rules) do
  settle(rule, now)
  local at, onPending = rule_wait(rule, now)
  if onPending then soft = math.max(soft, at) else hard = math.max(hard, at) end
end
local function refused(at, blocked)
  k.waitingAt = now
  save_key(KEYS[1], k, ttl)
  for _, rule in ipairs(rules) do save_state(rule, ttl) end
  if poll >= 0 and soft > hard then at = math.max(hard, math.min(at, now + poll)) end
  return { 0, f(at), blocked, sharedStamp, sharedPolicy }
end
local keyWait = math.max(hard, soft)
if keyWait > now then return refused(keyWait, 'key') end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', f(now))
if concurrency >= 0 and redis.call('ZCARD', KEYS[2]) >= concurrency then
  soft = tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2])
  hard = 0
  return refused(soft, 'endpoint')
end
-- Nothing else of the key in flight in the fleet (counted by its first rule), or without rules, of the endpoint.
local alone
if rules[1] then alone = rules[1].inFlight == 0 else alone = concurrency < 0 or redis.call('ZCARD', KEYS[2]) == 0 end
local seq = k.nextSeq
k.nextSeq = seq + 1
if k.quotaEpoch and (now >= k.quotaUntil or early) then new_epoch(k, seq, INF, now, early) end
-- Without a cap no slot is kept: nothing would read it.
if concurrency >= 0 then
  redis.call('ZADD', KEYS[2], f(now + leaseMs), f(seq))
  keep(KEYS[2], ttl)
end
k.budgetLeft = k.budgetLeft - 1
if k.probe == 'due' then k.probe, k.probeUntil = f(seq), now + leaseMs end
local counted = not (tokenExchange and k.exchangeCounted == '0')
for _, rule in ipairs(rules) do
  if counted then
    local latest = now + math.min(rule.jitterMs, leaseMs)
    redis.call('ZADD', rule.pendingKey, f(latest), f(seq))
    keep(rule.pendingKey, ttl)
    -- As the memory store's InFlight.last: the latest instant added since the first rule's set was last empty.
    if rule.index == 1 then k.pendingLast = rule.inFlight > 0 and math.max(k.pendingLast or -INF, latest) or latest end
  end
  save_state(rule, ttl)
  if tokenExchange then redis.call('HDEL', KEYS[1], 'exchangeAt:' .. rule.index) end
end
if tokenExchange then k.exchangeSeq, k.exchangeSentAt, k.exchangeAnsweredAt = seq, now, nil end
redis.call('HSET', KEYS[1], 'claim:' .. claim, f(seq) .. (counted and ':1' or ':0'))
save_key(KEYS[1], k, ttl)
return { 1, f(seq), counted and 1 or 0, sharedStamp, sharedPolicy, alone and 1 or 0 }
`;

/**
 * Ends a request and, with an answer, learns from it (or only learns, while the request keeps its slot).
 * KEYS: as ACQUIRE's. ARGV: claim (ACQUIRE's: the send's number and whether it counted are found by it, even when the
 * acquire's answer was lost), release (1/0), countedBy ('-inf' or a time), acquiredAt, leaseMs, ttlMs,
 * channel ('': publish nothing) and the message to publish there, answered (1/0), sentAt, at, status, retryAt,
 * remaining, resetAt, limit, windowMs ('' when unknown), quotaTrusted (1/0), concurrencyRefused (1/0),
 * resetInWholeSeconds (1/0), then per rule
 * its RULE_ARGS.
 * Returns { pausedUntil, reason, tokenExchangeCounted }, each '' when unset.
 */
export const FINISH = `${common}
local claim, release, countedBy = ARGV[1], ARGV[2] == '1', ARGV[3]
local acquiredAt, leaseMs, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local claimed = redis.call('HGET', KEYS[1], 'claim:' .. claim)
if not claimed then return { '', '', '' } end
local seq, counted = tonumber(string.match(claimed, '^[^:]+')), string.sub(claimed, -1) == '1'
if release then redis.call('HDEL', KEYS[1], 'claim:' .. claim) end
local channel, message, answered = ARGV[7], ARGV[8], ARGV[9] == '1'
local answer = { sentAt = opt(ARGV[10]), at = opt(ARGV[11]), status = opt(ARGV[12]), retryAt = opt(ARGV[13]), remaining = opt(ARGV[14]),
  resetAt = opt(ARGV[15]), limit = opt(ARGV[16]), windowMs = opt(ARGV[17]), quotaTrusted = ARGV[18] == '1',
  concurrencyRefused = ARGV[19] == '1', resetInWholeSeconds = ARGV[20] == '1' }
local rules = read_rules(21, 4)
local k = load_key(KEYS[1])
for _, rule in ipairs(current_learnt(k, rules)) do rules[#rules + 1] = rule end
for _, rule in ipairs(rules) do load_state(rule) end
if release then
  if countedBy == '-inf' then redis.call('ZREM', KEYS[2], f(seq)) else redis.call('ZADD', KEYS[2], 'XX', 'LT', countedBy, f(seq)) end
  if tonumber(k.probe) == seq then k.probe = '' end
  local isExchange = k.exchangeSeq == seq
  if counted then
    for _, rule in ipairs(rules) do
      local latest = acquiredAt + math.min(rule.jitterMs, leaseMs)
      if remove_pending(rule, seq) then
        rule.inFlight = rule.inFlight - 1
        if countedBy ~= '-inf' then
          local at = math.min(latest, tonumber(countedBy))
          record(rule, at)
          if isExchange then redis.call('HSET', KEYS[1], 'exchangeAt:' .. rule.index, f(at)) end
        end
      elseif isExchange and redis.call('HEXISTS', KEYS[1], 'exchangeAt:' .. rule.index) == 0 then
        redis.call('HSET', KEYS[1], 'exchangeAt:' .. rule.index, f(latest))
      end
    end
  end
end
local outcome = { '', '', '' }
if answered then outcome = learn(k, rules, seq, answer) end
-- Someone was refused since the last release: tell the fleet's waiters something may have freed.
if release and channel ~= '' and k.waitingAt then
  k.waitingAt = nil
  redis.call('PUBLISH', channel, message)
end
save_key(KEYS[1], k, ttl)
for _, rule in ipairs(rules) do save_state(rule, ttl) end
return outcome
`;

/** KEYS: the key's state. ARGV: until, now, ttlMs. A pause announced on the bus; returns its end, or 0. */
export const PAUSE = `${common}
local untilAt, now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local k = load_key(KEYS[1])
if not k.nextSeq then
  k.nextSeq = math.floor(now) * 1024
  k.firstSeq, k.pauseSeq = k.nextSeq, k.nextSeq
end
if untilAt <= k.pausedUntil then return '0' end
hold(k, untilAt)
save_key(KEYS[1], k, ttl + untilAt - now)
return f(untilAt)
`;

/** KEYS: the key's shared policy. ARGV: the policy (JSON, as the store wrote it). Stores it; returns its new stamp. */
export const SHARE = `
local stamp = redis.call('HINCRBY', KEYS[1], 'stamp', 1)
redis.call('HSET', KEYS[1], 'policy', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ${POLICY_TTL_MS})
return stamp
`;
