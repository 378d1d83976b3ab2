-- A: code, now, cutoff (seconds before the slot; -1: none, staff), openid (that must own it; '' any),
--    spares (fresh codes for a waiting couple), template (the waitlist notice), day_names, detail
local b = load(A.code)
if not b or (A.openid ~= '' and b.openid ~= A.openid) then return answer(O.NOT_FOUND) end
if b.status ~= O.CONFIRMED then return answer(O.NOT_ACTIVE, {status = b.status}) end
if A.cutoff >= 0 and tonumber(b.starts_at) - A.now < A.cutoff then return answer(O.TOO_LATE) end

release(b)
redis.call('HSET', key('booking', A.code), 'status', O.CANCELLED, 'cancelled_at', A.now)
log_event(A.code, A.now, O.CANCELLED, A.detail)
local result = snapshot(A.code)
result.promoted = promote(b, A.spares, A.template, A.now)
return answer(O.CANCELLED, result)
