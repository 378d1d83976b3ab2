-- ARGV: date, office id or '*' (whole province), reason, now, booking notice template, waitlist notice template
local date, office, reason, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('HSET', key('closures', date), office, reason)

local listing = office == '*' and key('day', date) or key('office_day', office, date)
local cancelled = 0
for _, code in ipairs(redis.call('SMEMBERS', listing)) do
  local b = load(code)
  if b and b.status == 'confirmed' then
    release(b)
    redis.call('HSET', key('booking', code), 'status', 'cancelled_by_office', 'cancelled_at', now)
    log_event(code, now, 'cancelled_by_office', reason)
    queue_notice('cancelled_by_office', b, ARGV[5], {reason = reason})
    cancelled = cancelled + 1
  end
end

local offices = office == '*' and redis.call('SMEMBERS', key('waitlist_offices', date)) or {office}
local dropped = 0
for _, office_id in ipairs(offices) do
  local wl = key('waitlist', office_id, date)
  for _, raw in ipairs(redis.call('LRANGE', wl, 0, -1)) do
    local e = cjson.decode(raw)
    e.office_id, e.date = office_id, date
    queue_notice('waitlist_closed', e, ARGV[6], {reason = reason})
    dropped = dropped + 1
  end
  redis.call('DEL', wl)
end
return {cancelled, dropped}
