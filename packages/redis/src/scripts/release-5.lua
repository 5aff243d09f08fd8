--[[
  release: moves due delayed messages to their ready list, and nothing else. The same move `take`
  makes, for processes that consume nothing from the queue: a client that published a delay, or
  `conveyor scheduler` for queues only Python Celery workers consume (they never look in the zset).

  KEYS[1..4] ready lists by bucket (as in take)
  KEYS[5]    delayed zset: "<unique>|<bucket>|<raw>" -> due time (ms)
  ARGV[1]    most messages to move in this call

  Output: { moved, next due time (ms) or -1, server time (ms) }. Both times are the server's, so a
  caller waits `next - now` without trusting its own clock.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local s1 = string.find(member, '|', 1, true)
  local s2 = string.find(member, '|', s1 + 1, true)
  -- LPUSH: the publishing end, as a fresh publish (and take) would.
  redis.call('LPUSH', KEYS[tonumber(string.sub(member, s1 + 1, s2 - 1))], string.sub(member, s2 + 1))
  redis.call('ZREM', KEYS[5], member)
end

local nextDue = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
return { #due, nextDue[2] or '-1', now }
