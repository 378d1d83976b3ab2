-- A: booking (the record to store), now, capacity (of the slot, decided in Python), closure_fields,
--    idempotency_key ('' for none; already scoped to its client), request (the fingerprint a retry
--    must match), idempotency_seconds, check_suspension
local b = A.booking
local now = A.now

if A.idempotency_key ~= '' then
  local first = redis.call('GET', key('idem', A.idempotency_key))
  if first then
    local seen = cjson.decode(first)
    if seen.request ~= A.request then return answer(O.IDEMPOTENCY_MISMATCH) end
    return answer(O.DUPLICATE, snapshot(seen.code))
  end
end
local closed = closures(b.date, A.closure_fields)
if closed then return answer(O.CLOSED, {closures = closed}) end
local refusal = person_refusal(b.hash1, b.hash2, A.check_suspension, now)
if refusal then return refusal end
if taken(b.office_id, b.date, b.time) >= A.capacity then return answer(O.SLOT_FULL) end
if redis.call('EXISTS', key('booking', b.code)) == 1 then return answer(O.CODE_TAKEN) end

b.status = O.CONFIRMED
b.created_at = now
create(b, now, 'created', b.channel)
if A.idempotency_key ~= '' then
  local seen = cjson.encode({code = b.code, request = A.request})
  redis.call('SET', key('idem', A.idempotency_key), seen, 'EX', A.idempotency_seconds)
end
return answer(O.CONFIRMED, snapshot(b.code))
