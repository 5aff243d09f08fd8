--[[
  take: hands out up to ARGV[1] messages, tracking each atomically as it leaves the list, so no
  crash can lose one between "taken" and "tracked" (kombu's BRPOP-then-ZADD window).
  First, in the same atomic step, it restores in-flight messages whose deadline passed and moves
  due delayed messages to their list: any worker's take does the housekeeping.

  KEYS[1..4] ready lists by bucket, consumed first to last (kombu: Q, Q\x06\x163, Q\x06\x166, Q\x06\x169)
  KEYS[5]    in-flight zset: receipt "<id>|<bucket>|<delivery count>" -> deadline (ms, server clock)
  KEYS[6]    in-flight payload hash: id -> raw envelope (what was taken off the list)
  KEYS[7]    delayed zset: "<unique>|<bucket>|<raw>" -> due time (ms)
  KEYS[8]    redelivery counts hash: sha1(raw) -> earlier deliveries, kept only for messages that
             came back (nack, restore); empty in the common case, so a first delivery costs nothing
  KEYS[9]    id counter
  KEYS[10]   redelivery counts age zset: sha1(raw) -> when its count was last written (ms). A
             message that came back and was then consumed elsewhere (a Python worker) leaves its
             count behind; entries older than ARGV[4] are pruned here, so the hash empties again
             and first deliveries go back to costing no SHA-1.
  ARGV[1]    most messages to take
  ARGV[2]    visibility timeout (ms)
  ARGV[3]    most expired or due messages to move in this call (and stale counts to prune)
  ARGV[4]    how long a redelivery count is kept without being written again (ms)

  Output: { nextDelayedDueMs or "-1", receipt, raw, receipt, raw, ... }
  The receipt carries bucket and count, so settling needs no copy of the payload.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[3])

local stale = redis.call('ZRANGEBYSCORE', KEYS[10], '-inf', now - tonumber(ARGV[4]), 'LIMIT', 0, limit)
if #stale > 0 then
  redis.call('HDEL', KEYS[8], unpack(stale))
  redis.call('ZREM', KEYS[10], unpack(stale))
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, limit)
for _, receipt in ipairs(expired) do
  local s1 = string.find(receipt, '|', 1, true)
  local s2 = string.find(receipt, '|', s1 + 1, true)
  local id = string.sub(receipt, 1, s1 - 1)
  local raw = redis.call('HGET', KEYS[6], id)
  redis.call('ZREM', KEYS[5], receipt)
  redis.call('HDEL', KEYS[6], id)
  if raw then
    local sha = redis.sha1hex(raw)
    redis.call('HSET', KEYS[8], sha, string.sub(receipt, s2 + 1))
    redis.call('ZADD', KEYS[10], now, sha)
    -- RPUSH: the consuming end, so a restored message is next (as kombu restores).
    redis.call('RPUSH', KEYS[tonumber(string.sub(receipt, s1 + 1, s2 - 1))], raw)
  end
end

local due = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(due) do
  local s1 = string.find(member, '|', 1, true)
  local s2 = string.find(member, '|', s1 + 1, true)
  redis.call('LPUSH', KEYS[tonumber(string.sub(member, s1 + 1, s2 - 1))], string.sub(member, s2 + 1))
  redis.call('ZREM', KEYS[7], member)
end

local out = {}
local counted = redis.call('HLEN', KEYS[8]) > 0
local wanted = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
-- One ZADD and one HSET per chunk instead of one per message: each redis.call costs more than
-- the work it does here. Chunks stay far below Lua's limit on unpack() arguments.
local CHUNK = 500
for bucket = 1, 4 do
  if wanted <= 0 then break end
  local raws = redis.call('RPOP', KEYS[bucket], wanted)
  if raws then
    local first = redis.call('INCRBY', KEYS[9], #raws) - #raws
    local scored, fields = {}, {}
    for i, raw in ipairs(raws) do
      local id = first + i
      local count = 1
      if counted then
        local before = redis.call('HGET', KEYS[8], redis.sha1hex(raw))
        if before then count = tonumber(before) + 1 end
      end
      local receipt = id .. '|' .. bucket .. '|' .. count
      scored[#scored + 1] = deadline
      scored[#scored + 1] = receipt
      fields[#fields + 1] = id
      fields[#fields + 1] = raw
      out[#out + 1] = receipt
      out[#out + 1] = raw
      if #fields >= 2 * CHUNK then
        redis.call('ZADD', KEYS[5], unpack(scored))
        redis.call('HSET', KEYS[6], unpack(fields))
        scored, fields = {}, {}
      end
    end
    if #fields > 0 then
      redis.call('ZADD', KEYS[5], unpack(scored))
      redis.call('HSET', KEYS[6], unpack(fields))
    end
    wanted = wanted - #raws
  end
end

local nextDue = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
table.insert(out, 1, nextDue[2] or '-1')
return out
