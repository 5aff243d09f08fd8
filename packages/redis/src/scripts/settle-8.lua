--[[
  settle: applies a batch of settlements to in-flight messages, each atomically.

  KEYS[1..4] ready lists by bucket (as in take)
  KEYS[5]    in-flight zset
  KEYS[6]    in-flight payload hash
  KEYS[7]    delayed zset
  KEYS[8]    redelivery counts hash (see take)
  ARGV       triples: operation, receipt id, argument
             a = ack            (remove; forget its redelivery count)
             r = reject         (remove, as ack: the caller stored the dead letter first)
             n = nack           (back to the consuming end of its list, redelivered next)
             d = nack delayed   (argument: delay ms; into the delayed zset)
             x = extend         (argument: ms from now; new deadline, only if still held)

  Output: one integer per triple: 1 = applied, 0 = the receipt is no longer held (lease lost).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local results = {}
for i = 1, #ARGV, 3 do
  local op = ARGV[i]
  local id = ARGV[i + 1]
  local arg = ARGV[i + 2]
  if op == 'x' then
    if redis.call('ZSCORE', KEYS[5], id) then
      redis.call('ZADD', KEYS[5], now + tonumber(arg), id)
      results[#results + 1] = 1
    else
      results[#results + 1] = 0
    end
  else
    local entry = redis.call('HGET', KEYS[6], id)
    if entry and redis.call('ZREM', KEYS[5], id) == 1 then
      redis.call('HDEL', KEYS[6], id)
      local s1 = string.find(entry, '|', 1, true)
      local s2 = string.find(entry, '|', s1 + 1, true)
      local bucket = tonumber(string.sub(entry, 1, s1 - 1))
      local count = string.sub(entry, s1 + 1, s2 - 1)
      local raw = string.sub(entry, s2 + 1)
      if op == 'a' or op == 'r' then
        if count ~= '1' then redis.call('HDEL', KEYS[8], redis.sha1hex(raw)) end
      else
        redis.call('HSET', KEYS[8], redis.sha1hex(raw), count)
        if op == 'n' then
          redis.call('RPUSH', KEYS[bucket], raw)
        elseif op == 'd' then
          redis.call('ZADD', KEYS[7], now + tonumber(arg), 'n' .. id .. '|' .. bucket .. '|' .. raw)
        end
      end
      results[#results + 1] = 1
    else
      results[#results + 1] = 0
    end
  end
end
return results
