-- ARGV: office id, date, entry JSON (with hash1/hash2 and times), seconds to keep it (to the day's end), check suspension (1/0), now
local office, date, raw, keep, check_suspension, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6]
local e = cjson.decode(raw)
local closed = closure_reason(office, date)
if closed then return {'closed', closed} end
local refusal = person_refusal(e.hash1, e.hash2, check_suspension, now)
if refusal then return refusal end
local wl = key('waitlist', office, date)
local waiting = redis.call('LRANGE', wl, 0, -1)
for position, other in ipairs(waiting) do
  local o = cjson.decode(other)
  for _, h in ipairs({o.hash1, o.hash2}) do
    if h == e.hash1 or h == e.hash2 then return {'already_waiting', tostring(position)} end
  end
end
local position = redis.call('RPUSH', wl, raw)
redis.call('EXPIRE', wl, keep)
redis.call('SADD', key('waitlist_offices', date), office)
redis.call('EXPIRE', key('waitlist_offices', date), keep)
return {'waiting', tostring(position)}
