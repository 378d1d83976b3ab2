-- A: before (bookings starting before this time are anonymised), batch, now
local done = 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.by_date, '-inf', '(' .. A.before, 'LIMIT', 0, A.batch)) do
  local b = load(code)
  if b then
    retire(b)
    redis.call('HSET', key('booking', code), 'name1', '', 'id1', '', 'name2', '', 'id2', '', 'phone', '',
      'anonymised_at', A.now)
    redis.call('HDEL', key('booking', code), 'hash1', 'hash2')
    log_event(code, A.now, 'anonymised', '')
    done = done + 1
  end
  redis.call('ZREM', K.by_date, code)
end
return answer('anonymised', {done = done})
