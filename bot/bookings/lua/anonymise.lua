-- ARGV: bookings starting before this time are anonymised, batch size, now
local before, batch, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local done = 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.by_date, '-inf', '(' .. before, 'LIMIT', 0, batch)) do
  local b = load(code)
  if b then
    retire(b)
    redis.call('HSET', key('booking', code), 'name1', '', 'id1', '', 'name2', '', 'id2', '', 'phone', '',
      'anonymised_at', now)
    redis.call('HDEL', key('booking', code), 'hash1', 'hash2')
    log_event(code, now, 'anonymised', '')
    done = done + 1
  end
  redis.call('ZREM', K.by_date, code)
end
return done
