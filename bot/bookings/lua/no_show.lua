-- ARGV: code, now, seconds after the slot's start from which it may be marked, detail (who marked it),
--       no-show limit, lookback seconds, suspension seconds
local code, now, after, detail = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local b = load(code)
if not b then return {'not_found'} end
if b.status ~= 'confirmed' then return {'not_active', b.status} end
if now < tonumber(b.starts_at) + after then return {'too_early', tostring(tonumber(b.starts_at) + after)} end
local suspended = record_no_show(b, now, detail, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
return {'no_show', tostring(suspended), snapshot(code)}
