-- ARGV: now, grace seconds, no-show limit, lookback seconds, suspension seconds, batch size
local now, grace, limit, lookback, suspension, batch =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local marked, suspended = 0, 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.upcoming, '-inf', now - grace, 'LIMIT', 0, batch)) do
  local b = load(code)
  redis.call('ZREM', K.upcoming, code)
  if b and b.status == 'confirmed' then
    suspended = suspended + record_no_show(b, now, '', limit, lookback, suspension)
    marked = marked + 1
  end
end
return {marked, suspended}
