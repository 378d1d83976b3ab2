-- wrk script: signed WeChat messages from many distinct users: text messages and, if BENCH_CLICKS is
-- set, menu clicks (CLICK events), each entry equally likely. BENCH_USERS users; BENCH_TEXTS and
-- BENCH_CLICKS are lists separated by "|". Each request takes the next of the signed query strings in
-- BENCH_QUERIES (one per line, shared out among BENCH_THREADS threads): Tongzhou accepts a
-- (timestamp, nonce) pair once. Texts carry a unique MsgId. Events are deduplicated on
-- user + CreateTime + key, so a click's CreateTime steps back from now by its counter (within the
-- hour): a user's two clicks on one button then never look like one click resent.
local users = tonumber(os.getenv("BENCH_USERS") or "10000")
local entries = {}
for text in string.gmatch(os.getenv("BENCH_TEXTS") or "帮助", "[^|]+") do table.insert(entries, {"text", text}) end
for key in string.gmatch(os.getenv("BENCH_CLICKS") or "", "[^|]+") do table.insert(entries, {"click", key}) end
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  msg = id * 1000000000
  math.randomseed(id * 7919 + os.time())
  queries, next_query = {}, 1
  local threads_total, n = tonumber(os.getenv("BENCH_THREADS") or "1"), 0
  for line in io.lines(os.getenv("BENCH_QUERIES")) do
    if n % threads_total == id then table.insert(queries, line) end
    n = n + 1
  end
end

local function query()
  local q = queries[next_query]
  next_query = next_query % #queries + 1  -- past the end a nonce repeats: refused, and counted as non-2xx
  return "/wechat?" .. q
end

function request()
  msg = msg + 1
  local user = "o_bench_" .. math.random(1, users)
  local kind, value = unpack(entries[math.random(1, #entries)])
  local head = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[" .. user ..
    "]]></FromUserName>"
  local body
  if kind == "text" then
    body = head .. "<CreateTime>" .. os.time() .. "</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
      "<Content><![CDATA[" .. value .. "]]></Content><MsgId>" .. msg .. "</MsgId></xml>"
  else
    body = head .. "<CreateTime>" .. (os.time() - msg % 3600) .. "</CreateTime><MsgType><![CDATA[event]]>" ..
      "</MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[" .. value .. "]]></EventKey></xml>"
  end
  return wrk.format("POST", query(), {["Content-Type"] = "text/xml"}, body)
end
