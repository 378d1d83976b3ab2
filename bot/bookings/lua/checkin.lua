-- A: code, office_id (where the couple is), today (ISO), now, opens (seconds before the slot
--    check-in opens), grace (seconds after its start check-in closes)
local b = load(A.code)
if not b then return answer(O.NOT_FOUND) end
if b.status == O.CHECKED_IN then
  local result = snapshot(A.code)
  result.at = tonumber(b.checked_in_at)
  return answer(O.ALREADY_CHECKED_IN, result)
end
if b.status ~= O.CONFIRMED then return answer(O.NOT_ACTIVE, {status = b.status}) end
if b.office_id ~= A.office_id then return answer(O.WRONG_OFFICE, {office_name = b.office_name}) end
if b.date ~= A.today then return answer(O.NOT_TODAY, {date = b.date}) end
local starts = tonumber(b.starts_at)
if A.now < starts - A.opens then return answer(O.TOO_EARLY, {at = starts - A.opens}) end
if A.now > starts + A.grace then return answer(O.TOO_LATE, {at = starts}) end

retire(b)
redis.call('HSET', key('booking', A.code), 'status', O.CHECKED_IN, 'checked_in_at', A.now)
log_event(A.code, A.now, O.CHECKED_IN, A.office_id)
return answer(O.CHECKED_IN, snapshot(A.code))
