-- A: code, now, after (seconds after the slot's start from which it may be marked), detail (who
--    marked it), limits {count, lookback, keep, suspension}
local b = load(A.code)
if not b then return answer(O.NOT_FOUND) end
if b.status ~= O.CONFIRMED then return answer(O.NOT_ACTIVE, {status = b.status}) end
if A.now < tonumber(b.starts_at) + A.after then return answer(O.TOO_EARLY, {at = tonumber(b.starts_at) + A.after}) end
local suspended = record_no_show(b, A.now, A.detail, A.limits)
local result = snapshot(A.code)
result.suspended = suspended
return answer(O.NO_SHOW, result)
