--[[
  delay: parks messages until they are due, timed by the server clock (workers' clocks may differ).

  KEYS[1]  delayed zset
  ARGV     pairs: delay ms, member ("<unique>|<bucket>|<raw>")

  Output: number of messages parked.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[i]), ARGV[i + 1])
end
return #ARGV / 2
