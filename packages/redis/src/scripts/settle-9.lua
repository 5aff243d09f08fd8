--[[
  settle: applies a batch of settlements to in-flight messages, each atomically.

  KEYS[1..4] ready lists by bucket (as in take)
  KEYS[5]    in-flight zset (receipt "<id>|<bucket>|<count>" -> deadline)
  KEYS[6]    in-flight payload hash (id -> raw)
  KEYS[7]    delayed zset
  KEYS[8]    redelivery counts hash (see take)
  KEYS[9]    redelivery counts age zset (see take)
  ARGV       triples: operation, receipt, argument
             a = ack            (remove; forget its redelivery count)
             r = reject         (remove, as ack: the caller stored the dead letter first)
             n = nack           (back to the consuming end of its list, redelivered next)
             d = nack delayed   (argument: delay ms; into the delayed zset)
             x = extend         (argument: ms from now; new deadline, only if still held)

  Output: one integer per triple: 1 = applied, 0 = the receipt is no longer held (lease lost).
  An ack of a first delivery touches only the zset and the hash: no payload is copied.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local results = {}
-- Payload ids of plain acks, deleted by one HDEL at the end (one call per batch, not per ack).
local acked = {}
for i = 1, #ARGV, 3 do
  local op = ARGV[i]
  local receipt = ARGV[i + 1]
  local arg = ARGV[i + 2]
  if op == 'x' then
    if redis.call('ZSCORE', KEYS[5], receipt) then
      redis.call('ZADD', KEYS[5], now + tonumber(arg), receipt)
      results[#results + 1] = 1
    else
      results[#results + 1] = 0
    end
  elseif redis.call('ZREM', KEYS[5], receipt) == 1 then
    local s1 = string.find(receipt, '|', 1, true)
    local s2 = string.find(receipt, '|', s1 + 1, true)
    local id = string.sub(receipt, 1, s1 - 1)
    local count = string.sub(receipt, s2 + 1)
    if (op == 'a' or op == 'r') and count == '1' then
      acked[#acked + 1] = id
      if #acked >= 500 then
        redis.call('HDEL', KEYS[6], unpack(acked))
        acked = {}
      end
    else
      local raw = redis.call('HGET', KEYS[6], id)
      redis.call('HDEL', KEYS[6], id)
      if raw then
        local sha = redis.sha1hex(raw)
        if op == 'a' or op == 'r' then
          redis.call('HDEL', KEYS[8], sha)
          redis.call('ZREM', KEYS[9], sha)
        else
          redis.call('HSET', KEYS[8], sha, count)
          redis.call('ZADD', KEYS[9], now, sha)
          local bucket = tonumber(string.sub(receipt, s1 + 1, s2 - 1))
          if op == 'n' then
            redis.call('RPUSH', KEYS[bucket], raw)
          else
            redis.call('ZADD', KEYS[7], now + tonumber(arg), 'n' .. id .. '|' .. bucket .. '|' .. raw)
          end
        end
      end
    end
    results[#results + 1] = 1
  else
    results[#results + 1] = 0
  end
end
if #acked > 0 then redis.call('HDEL', KEYS[6], unpack(acked)) end
return results
