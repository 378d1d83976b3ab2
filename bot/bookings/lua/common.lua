-- Shared by every booking script. bot/bookings/engine.py prepends the data the scripts use, so
-- Python and Lua share one copy of each: `K` (the key templates), `O` (outcome and status names),
-- INBOX_KEEP_SECONDS, and `A`, the script's named arguments (ARGV[1], one JSON object).
-- Every script answers with answer(kind, fields), one JSON object the engine decodes by name.
-- Rules (capacity, which closures apply, wording, dates in words) are decided in Python and
-- arrive in `A`; the scripts only check and write them atomically. Times are Unix seconds.

local function key(name, ...)
  return string.format(K[name], ...)
end

local function answer(kind, fields)
  local result = fields or {}
  result.kind = kind
  return cjson.encode(result)
end

local function load(code)
  local flat = redis.call('HGETALL', key('booking', code))
  if #flat == 0 then return nil end
  local b = {}
  for i = 1, #flat, 2 do b[flat[i]] = flat[i + 1] end
  return b
end

-- The booking as it now stands, sent with a script's answer so the caller needs no second trip.
local function snapshot(code)
  return {booking = load(code), history = redis.call('LRANGE', key('history', code), 0, -1)}
end

local function log_event(code, now, event, detail)
  redis.call('RPUSH', key('history', code), cjson.encode({at = tonumber(now), event = event, detail = detail or ''}))
end

-- The one producer of notices; bot/wechat/outbound.py's consumer sends `text` to `openid` once per `key`.
-- `template` comes from Python with everything but the booking's own {code}, {office}, {time} and
-- {date} filled; A.day_names gives each date in words.
local function queue_notice(kind, b, template)
  local values = {code = b.code, office = b.office_name, date = A.day_names[b.date], time = b.time or ''}
  local text = string.gsub(template, '{(%w+)}', function(name) return values[name] or '' end)
  local id = b.code or (string.sub(b.hash1, 1, 16) .. ':' .. b.date)  -- a waiting couple has no code yet
  redis.call('RPUSH', K.notices, cjson.encode({
    kind = kind, key = id .. ':' .. kind, code = b.code or '', openid = b.openid or '', phone = b.phone or '',
    office_id = b.office_id, date = b.date, text = text,
  }))
  if b.openid and b.openid ~= '' then  -- and in the reply to their next message (bot/inbox.py)
    redis.call('RPUSH', key('inbox', b.openid), text)
    redis.call('EXPIRE', key('inbox', b.openid), INBOX_KEEP_SECONDS)
  end
end

-- The staff closures among `fields` (which ones apply is closures.fields_for, in Python) stored for
-- `date`, as field → reason; nil when none is set.
local function closures(date, fields)
  local found, any = {}, false
  local stored = redis.call('HMGET', key('closures', date), unpack(fields))
  for i, field in ipairs(fields) do
    if stored[i] then found[field], any = stored[i], true end
  end
  return any and found or nil
end

local function taken(office_id, date, time)
  return tonumber(redis.call('HGET', key('taken', office_id, date), time) or '0')
end

-- Indexes of a booking that holds a place (confirmed): who holds it and when it starts.
local function hold(b)
  redis.call('ZADD', K.upcoming, b.starts_at, b.code)
  if b.openid ~= '' then redis.call('SADD', key('openid', b.openid), b.code) end
  redis.call('SET', key('active', b.hash1), b.code)
  redis.call('SET', key('active', b.hash2), b.code)
end

-- The booking stops holding a place (checked in, no-show, cancelled); its day listing stays.
local function retire(b)
  redis.call('ZREM', K.upcoming, b.code)
  if b.openid and b.openid ~= '' then redis.call('SREM', key('openid', b.openid), b.code) end
  for _, h in ipairs({b.hash1, b.hash2}) do
    if h and h ~= '' and redis.call('GET', key('active', h)) == b.code then redis.call('DEL', key('active', h)) end
  end
end

-- Gives the seat back and un-holds it.
local function release(b)
  if taken(b.office_id, b.date, b.time) > 0 then
    redis.call('HINCRBY', key('taken', b.office_id, b.date), b.time, -1)
  end
  retire(b)
end

local function create(b, now, event, detail)
  local flat = {}
  for k, v in pairs(b) do
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
  redis.call('HSET', key('booking', b.code), unpack(flat))
  redis.call('HINCRBY', key('taken', b.office_id, b.date), b.time, 1)
  redis.call('SADD', key('office_day', b.office_id, b.date), b.code)
  redis.call('SADD', key('day', b.date), b.code)
  redis.call('ZADD', K.by_date, b.starts_at, b.code)
  hold(b)
  log_event(b.code, now, event, detail)
end

-- The booking becomes a no-show; an applicant with `limits.count` no-shows within `limits.lookback`
-- seconds is suspended from chat and web booking for `limits.suspension` seconds. Returns how many
-- applicants this suspended.
local function record_no_show(b, now, detail, limits)
  retire(b)
  redis.call('HSET', key('booking', b.code), 'status', O.NO_SHOW, 'no_show_at', now)
  log_event(b.code, now, O.NO_SHOW, detail)
  local suspended = 0
  for _, h in ipairs({b.hash1 or '', b.hash2 or ''}) do
    if h ~= '' then  -- anonymised bookings no longer know who they were
      local record = key('noshows', h)
      redis.call('ZADD', record, b.starts_at, b.code)
      redis.call('ZREMRANGEBYSCORE', record, '-inf', now - limits.lookback)
      redis.call('EXPIRE', record, limits.keep)
      if redis.call('ZCARD', record) >= limits.count then
        redis.call('SET', key('suspended', h), now + limits.suspension, 'EX', limits.suspension)
        suspended = suspended + 1
      end
    end
  end
  return suspended
end

local function person_active(h)
  return redis.call('GET', key('active', h))
end

-- Why one of the couple (hashes h1, h2) may not take a place now, as a script answer; nil if both may.
local function person_refusal(h1, h2, check_suspension, now)
  for i, h in ipairs({h1, h2}) do
    if check_suspension then
      local ends = redis.call('GET', key('suspended', h))
      if ends and tonumber(ends) > tonumber(now) then return answer(O.SUSPENDED, {who = i, until_ts = tonumber(ends)}) end
    end
    local code = person_active(h)
    if code then return answer(O.ALREADY_BOOKED, {who = i, code = code}) end
  end
  return nil
end

local function free_code(spares)
  for _, code in ipairs(spares) do
    if redis.call('EXISTS', key('booking', code)) == 0 then return code end
  end
  return nil
end

-- A place in `freed`'s slot just opened: book the first waiting couple who fits and tell them.
local function promote(freed, spares, template, now)
  local wl = key('waitlist', freed.office_id, freed.date)
  for _, raw in ipairs(redis.call('LRANGE', wl, 0, -1)) do
    local e = cjson.decode(raw)
    local fits = #e.times == 0
    for _, t in ipairs(e.times) do
      if t == freed.time then fits = true end
    end
    if fits then
      local code = free_code(spares)
      if not code then return '' end
      redis.call('LREM', wl, 1, raw)
      if not person_active(e.hash1) and not person_active(e.hash2) then
        local b = {
          code = code, status = O.CONFIRMED, office_id = freed.office_id, office_name = freed.office_name,
          city = freed.city, date = freed.date, time = freed.time, starts_at = freed.starts_at,
          channel = e.channel, openid = e.openid, phone = e.phone, created_at = now,
          name1 = e.name1, id1 = e.id1, hash1 = e.hash1, name2 = e.name2, id2 = e.id2, hash2 = e.hash2,
        }
        create(b, now, 'created', 'waitlist')
        queue_notice('waitlist_promoted', b, template)
        return code
      end
      -- a couple who meanwhile booked elsewhere leaves the waitlist; try the next one
    end
  end
  return ''
end
