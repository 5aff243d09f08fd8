--[[
  storeResult: writes a task result as Celery's Redis backend does (SET with expiry, then PUBLISH
  on the key's own channel), except that the check "never overwrite SUCCESS" and the write are one
  atomic step here.

  KEYS[1]  celery-task-meta-<task id>
  ARGV[1]  the result document (JSON)
  ARGV[2]  expiry in seconds (0 = none)

  Output: 1 = stored and published, 0 = a SUCCESS was already stored (nothing written).
]]
local current = redis.call('GET', KEYS[1])
if current and string.find(current, '"status": "SUCCESS"', 1, true) then
  return 0
end
local expires = tonumber(ARGV[2])
if expires > 0 then
  redis.call('SETEX', KEYS[1], expires, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
