-- A: date, field (the closures field: an office id or the province's), reason, now, listing (the key
--    of the bookings it cancels), offices (whose waitlists it drops; absent: every office with one),
--    templates {booking, waitlist} (the notices, the reason and rebooking options filled in), day_names
redis.call('HSET', key('closures', A.date), A.field, A.reason)

local cancelled = 0
for _, code in ipairs(redis.call('SMEMBERS', A.listing)) do
  local b = load(code)
  if b and b.status == O.CONFIRMED then
    release(b)
    redis.call('HSET', key('booking', code), 'status', O.CANCELLED_BY_OFFICE, 'cancelled_at', A.now)
    log_event(code, A.now, O.CANCELLED_BY_OFFICE, A.reason)
    queue_notice(O.CANCELLED_BY_OFFICE, b, A.templates.booking)
    cancelled = cancelled + 1
  end
end

local offices = A.offices or redis.call('SMEMBERS', key('waitlist_offices', A.date))
local dropped = 0
for _, office_id in ipairs(offices) do
  local wl = key('waitlist', office_id, A.date)
  for _, raw in ipairs(redis.call('LRANGE', wl, 0, -1)) do
    local e = cjson.decode(raw)
    e.office_id, e.date = office_id, A.date
    queue_notice('waitlist_closed', e, A.templates.waitlist)
    dropped = dropped + 1
  end
  redis.call('DEL', wl)
end
return answer(O.CLOSED, {cancelled = cancelled, dropped = dropped})
