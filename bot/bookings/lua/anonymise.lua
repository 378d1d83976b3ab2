-- A: before (bookings starting before this time are anonymised), batch, now
-- Everything that identifies a person goes: names, masked numbers, their hashes, phone and WeChat
-- openid, free text staff typed when cancelling, and the booking's place in the per-person indexes
-- (openid set, no-show records).
local done = 0
for _, code in ipairs(redis.call('ZRANGEBYSCORE', K.by_date, '-inf', '(' .. A.before, 'LIMIT', 0, A.batch)) do
  local b = load(code)
  if b then
    retire(b)
    if b.openid and b.openid ~= '' then redis.call('SREM', key('openid', b.openid), code) end
    for _, h in ipairs({b.hash1 or '', b.hash2 or ''}) do
      if h ~= '' then redis.call('ZREM', key('noshows', h), code) end
    end
    redis.call('HSET', key('booking', code), 'name1', '', 'id1', '', 'name2', '', 'id2', '', 'phone', '',
      'openid', '', 'anonymised_at', A.now)
    redis.call('HDEL', key('booking', code), 'hash1', 'hash2')
    -- A cancellation's detail is free text staff typed (a reason that may name someone): cleared.
    local history = key('history', code)
    for i, raw in ipairs(redis.call('LRANGE', history, 0, -1)) do
      local e = cjson.decode(raw)
      if e.event == O.CANCELLED and e.detail ~= '' then
        e.detail = ''
        redis.call('LSET', history, i - 1, cjson.encode(e))
      end
    end
    log_event(code, A.now, 'anonymised', '')
    done = done + 1
  end
  redis.call('ZREM', K.by_date, code)
end
return answer('anonymised', {done = done})
