-- wrk script: staff (phone) bookings through POST /api/v1/bookings, a new couple every request,
-- spread over many places. BENCH_PLACES_FILE lists "office_id,date,time" lines; BENCH_FIRST_COUPLE
-- numbers the first couple; ADMIN_TOKEN is the staff token. ID numbers are made exactly as
-- bench/harness.py's id_number() makes them, so every couple is valid and distinct.
local WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local CHECK = "10X98765432"
local BIRTH_BASE = os.time({year = 1975, month = 1, day = 1, hour = 12})
local MEN = {"张伟", "王强", "李明", "刘洋", "陈杰", "杨帆", "赵磊", "黄涛"}
local WOMEN = {"李娜", "王芳", "张敏", "刘静", "陈丽", "杨雪", "赵婷", "周颖"}
local PER_THREAD = 1000000
local threads = 0

local function id_number(n, man)
  local k = n % 500
  local birth = os.date("!%Y%m%d", BIRTH_BASE + math.floor(n / 500) * 86400)
  local first17 = "430102" .. birth .. string.format("%02d%d", math.floor(k / 5), 2 * (k % 5) + (man and 1 or 0))
  local sum = 0
  for i = 1, 17 do sum = sum + tonumber(first17:sub(i, i)) * WEIGHTS[i] end
  local c = sum % 11 + 1
  return first17 .. CHECK:sub(c, c)
end

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  places = {}
  for line in io.lines(os.getenv("BENCH_PLACES_FILE")) do table.insert(places, line) end
  first = tonumber(os.getenv("BENCH_FIRST_COUPLE") or "0") + id * PER_THREAD
  sent = 0
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("ADMIN_TOKEN")}
end

function request()
  local n = first + sent
  -- Threads start at different places and step through all of them, so no place is hammered.
  local office, day, hhmm = places[(id * 7919 + sent) % #places + 1]:match("([^,]+),([^,]+),([^,]+)")
  sent = sent + 1
  local body = string.format(
    '{"channel":"phone","office_id":"%s","date":"%s","time":"%s","applicants":' ..
    '[{"name":"%s","id_number":"%s"},{"name":"%s","id_number":"%s"}]}',
    office, day, hhmm, MEN[n % #MEN + 1], id_number(n, true), WOMEN[n % #WOMEN + 1], id_number(n, false))
  return wrk.format("POST", "/api/v1/bookings", headers, body)
end
