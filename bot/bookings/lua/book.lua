-- ARGV: booking JSON, now, computed capacity, idempotency key ('' for none), its TTL, check suspension (1/0)
local b = cjson.decode(ARGV[1])
local now, computed, idem, idem_ttl, check_suspension = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'

if idem ~= '' then
  local first = redis.call('GET', key('idem', idem))
  if first then return {'duplicate', first, snapshot(first)} end
end
local closed = closure_reason(b.office_id, b.date)
if closed then return {'closed', closed} end
local refusal = person_refusal(b.hash1, b.hash2, check_suspension, now)
if refusal then return refusal end
if taken(b.office_id, b.date, b.time) >= capacity(b.date, computed) then return {'slot_full'} end
if redis.call('EXISTS', key('booking', b.code)) == 1 then return {'code_taken'} end

b.status = 'confirmed'
b.created_at = now
create(b, now, 'created', b.channel)
if idem ~= '' then redis.call('SET', key('idem', idem), b.code, 'EX', idem_ttl) end
return {'confirmed', b.code, snapshot(b.code)}
