-- ARGV: code, office id where the couple is, today (ISO), now, seconds before the slot check-in opens, grace seconds
local code, office_id, today, now, opens, grace =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local b = load(code)
if not b then return {'not_found'} end
if b.status == 'checked_in' then return {'already_checked_in', b.checked_in_at, snapshot(code)} end
if b.status ~= 'confirmed' then return {'not_active', b.status} end
if b.office_id ~= office_id then return {'wrong_office', b.office_name} end
if b.date ~= today then return {'not_today', b.date} end
local starts = tonumber(b.starts_at)
if now < starts - opens then return {'too_early', tostring(starts - opens)} end
if now > starts + grace then return {'too_late', b.starts_at} end

retire(b)
redis.call('HSET', key('booking', code), 'status', 'checked_in', 'checked_in_at', now)
log_event(code, now, 'checked_in', office_id)
return {'checked_in', '', snapshot(code)}
