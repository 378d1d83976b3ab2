-- ARGV: code, now, cutoff seconds (-1 none), openid that must own it ('' any), computed capacity of the new slot,
--       new slot JSON {office_id, office_name, city, date, time, starts_at}, spare codes JSON, waitlist template
local code, now, cutoff, openid, computed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local new = cjson.decode(ARGV[6])
local b = load(code)
if not b or (openid ~= '' and b.openid ~= openid) then return {'not_found'} end
if b.status ~= 'confirmed' then return {'not_active', b.status} end
if cutoff >= 0 and tonumber(b.starts_at) - now < cutoff then return {'too_late', b.starts_at} end
if b.office_id == new.office_id and b.date == new.date and b.time == new.time then return {'same_slot'} end
local closed = closure_reason(new.office_id, new.date)
if closed then return {'closed', closed} end
if taken(new.office_id, new.date, new.time) >= capacity(new.date, computed) then return {'slot_full'} end

-- Take the new place first, then give back the old one: the couple is never without a place.
redis.call('HINCRBY', key('taken', new.office_id, new.date), new.time, 1)
local old = {}
for k, v in pairs(b) do old[k] = v end
release(old)
redis.call('SREM', key('office_day', old.office_id, old.date), code)
redis.call('SREM', key('day', old.date), code)
for k, v in pairs(new) do b[k] = v end
redis.call('HSET', key('booking', code), 'office_id', b.office_id, 'office_name', b.office_name, 'city', b.city,
  'date', b.date, 'time', b.time, 'starts_at', b.starts_at)
redis.call('SADD', key('office_day', b.office_id, b.date), code)
redis.call('SADD', key('day', b.date), code)
redis.call('ZADD', K.by_date, b.starts_at, code)
hold(b)
log_event(code, now, 'rescheduled', old.office_id .. ' ' .. old.date .. ' ' .. old.time .. ' → ' ..
  b.office_id .. ' ' .. b.date .. ' ' .. b.time)
local promoted = promote(old, cjson.decode(ARGV[7]), ARGV[8], now)
return {'rescheduled', promoted, snapshot(code)}
