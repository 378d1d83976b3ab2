-- ARGV: now, grace seconds, no-show limit, lookback seconds, suspension seconds, batch size
local now, grace, limit, lookback, suspension, batch =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local marked, suspended = 0, 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.upcoming, '-inf', now - grace, 'LIMIT', 0, batch)) do
  local b = load(code)
  redis.call('ZREM', K.upcoming, code)
  if b and b.status == 'confirmed' then
    retire(b)
    redis.call('HSET', key('booking', code), 'status', 'no_show', 'no_show_at', now)
    log_event(code, now, 'no_show', '')
    marked = marked + 1
    local starts = tonumber(b.starts_at)
    for _, h in ipairs({b.hash1, b.hash2}) do
      local record = key('noshows', h)
      redis.call('ZADD', record, starts, code)
      redis.call('ZREMRANGEBYSCORE', record, '-inf', now - lookback)
      redis.call('EXPIRE', record, lookback)
      if redis.call('ZCARD', record) >= limit then
        redis.call('SET', key('suspended', h), now + suspension, 'EX', suspension)
        suspended = suspended + 1
      end
    end
  end
end
return {marked, suspended}
