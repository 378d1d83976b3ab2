-- A: office_id, date, entry (JSON text: the couple with hash1/hash2 and times), keep (seconds, to the
--    day's end), closure_fields, check_suspension, now
local e = cjson.decode(A.entry)
local closed = closures(A.date, A.closure_fields)
if closed then return answer(O.CLOSED, {closures = closed}) end
local refusal = person_refusal(e.hash1, e.hash2, A.check_suspension, A.now)
if refusal then return refusal end
local wl = key('waitlist', A.office_id, A.date)
for position, other in ipairs(redis.call('LRANGE', wl, 0, -1)) do
  local o = cjson.decode(other)
  for _, h in ipairs({o.hash1, o.hash2}) do
    if h == e.hash1 or h == e.hash2 then return answer(O.ALREADY_WAITING, {position = position}) end
  end
end
local position = redis.call('RPUSH', wl, A.entry)
redis.call('EXPIRE', wl, A.keep)
redis.call('SADD', key('waitlist_offices', A.date), A.office_id)
redis.call('EXPIRE', key('waitlist_offices', A.date), A.keep)
return answer(O.WAITING, {position = position})
