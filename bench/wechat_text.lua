-- wrk script: signed WeChat text messages from many distinct users.
-- The plain-mode signature covers only token/timestamp/nonce, so one query string serves every body.
local users = tonumber(os.getenv("BENCH_USERS") or "10000")
local texts = {}
for line in string.gmatch(os.getenv("BENCH_TEXTS") or "帮助", "[^|]+") do table.insert(texts, line) end
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  msg = id * 1000000000
  math.randomseed(id * 7919 + os.time())
end

function request()
  msg = msg + 1
  local user = math.random(1, users)
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o_bench_" .. user ..
    "]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" ..
    texts[math.random(1, #texts)] .. "]]></Content><MsgId>" .. msg .. "</MsgId></xml>"
  return wrk.format("POST", nil, {["Content-Type"] = "text/xml"}, body)
end
