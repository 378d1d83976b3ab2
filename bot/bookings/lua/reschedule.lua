-- A: code, now, cutoff (seconds; -1 none), openid (that must own it; '' any), capacity (of the new
--    slot), closure_fields (of the new office), place {office_id, office_name, city, date, time,
--    starts_at}, spares, template (the waitlist notice), day_names
local new = A.place
local b = load(A.code)
if not b or (A.openid ~= '' and b.openid ~= A.openid) then return answer(O.NOT_FOUND) end
if b.status ~= O.CONFIRMED then return answer(O.NOT_ACTIVE, {status = b.status}) end
if A.cutoff >= 0 and tonumber(b.starts_at) - A.now < A.cutoff then return answer(O.TOO_LATE) end
if b.office_id == new.office_id and b.date == new.date and b.time == new.time then return answer(O.SAME_SLOT) end
local closed = closures(new.date, A.closure_fields)
if closed then return answer(O.CLOSED, {closures = closed}) end
if taken(new.office_id, new.date, new.time) >= A.capacity then return answer(O.SLOT_FULL) end

-- Take the new place first, then give back the old one: the couple is never without a place.
redis.call('HINCRBY', key('taken', new.office_id, new.date), new.time, 1)
local old = {}
for k, v in pairs(b) do old[k] = v end
release(old)
redis.call('SREM', key('office_day', old.office_id, old.date), A.code)
redis.call('SREM', key('day', old.date), A.code)
for k, v in pairs(new) do b[k] = v end
redis.call('HSET', key('booking', A.code), 'office_id', b.office_id, 'office_name', b.office_name, 'city', b.city,
  'date', b.date, 'time', b.time, 'starts_at', b.starts_at)
redis.call('SADD', key('office_day', b.office_id, b.date), A.code)
redis.call('SADD', key('day', b.date), A.code)
redis.call('ZADD', K.by_date, b.starts_at, A.code)
hold(b)
log_event(A.code, A.now, O.RESCHEDULED, old.office_id .. ' ' .. old.date .. ' ' .. old.time .. ' → ' ..
  b.office_id .. ' ' .. b.date .. ' ' .. b.time)
local result = snapshot(A.code)
result.promoted = promote(old, A.spares, A.template, A.now)
return answer(O.RESCHEDULED, result)
