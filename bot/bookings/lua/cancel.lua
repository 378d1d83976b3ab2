-- ARGV: code, now, cutoff seconds (-1: no cutoff, staff), openid that must own it ('' any), spare codes JSON,
--       waitlist notice template, detail
local code, now, cutoff, openid = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local b = load(code)
if not b or (openid ~= '' and b.openid ~= openid) then return {'not_found'} end
if b.status ~= 'confirmed' then return {'not_active', b.status} end
if cutoff >= 0 and tonumber(b.starts_at) - now < cutoff then return {'too_late', b.starts_at} end

release(b)
redis.call('HSET', key('booking', code), 'status', 'cancelled', 'cancelled_at', now)
log_event(code, now, 'cancelled', ARGV[7])
local promoted = promote(b, cjson.decode(ARGV[5]), ARGV[6], now)
return {'cancelled', promoted, snapshot(code)}
