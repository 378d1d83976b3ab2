-- A: now, grace (seconds), limits {count, lookback, keep, suspension}, batch
local marked, suspended = 0, 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.upcoming, '-inf', A.now - A.grace, 'LIMIT', 0, A.batch)) do
  local b = load(code)
  redis.call('ZREM', K.upcoming, code)
  if b and b.status == O.CONFIRMED then
    suspended = suspended + record_no_show(b, A.now, '', A.limits)
    marked = marked + 1
  end
end
return answer('marked', {marked = marked, suspended = suspended})
