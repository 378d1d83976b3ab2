"""Load (issue 8): the webhook under gunicorn with real Redis, next to a bare Flask app and a WeRoBot
peer; scaling from 1 to 2 workers; the opening-morning booking burst; memory; cold start.

    python bench/load.py [--workers 2] [--connections 16] [--seconds 10] [--users 10000]
                         [--couples 5000] [--chat-couples 300] [--burst-connections 64] [--quick]

1. Cold start: seconds from spawning gunicorn to the first 200 answer to a signed message.
2. Mixed load (wrk, bench/wechat.lua): signed messages from `--users` distinct users, handbook
   questions, booking steps and menu clicks (CLICK events) alike, for `--seconds` against
   - bare Flask answering `success` (the ceiling),
   - Tongzhou (app:app),
   - WeRoBot keeping a per-user session in the same Redis (bench/werobot_peer.py),
   - Tongzhou on 1 worker (scaling),
   each under gunicorn with `--workers` workers, with the same requests. Prints req/s, p50/p99/max,
   non-2xx and socket errors, the ratios ours/bare, ours/WeRoBot and 2 workers/1 worker, and the
   resident memory of each worker (VmRSS from /proc/<pid>/status) after the load.
3. Opening-morning burst: `--couples` couples race through POST /api/v1/bookings (web channel) for
   长沙市芙蓉区's next 14 days while `--chat-couples` couples book by chat through /wechat
   ("预约" → office → date → time → names and ID numbers → "确认", answering what the bot asks).
   A couple told slot_full takes an offered alternative (by API: the nearest at the office, once).
   Every fifth chat couple is also an API couple (the same two people trying both channels).
   Then Redis is checked: confirmed at the office must equal its total capacity, and no ID number
   may hold two confirmed bookings.
   The web channel's limits are per client address (the app runs with PROXY_HOPS=1 and the benchmark
   plays the reverse proxy, giving each couple its own X-Forwarded-For, as nginx would) and a share of
   each office-day, set to 100% here so racing API couples can fill every place.

`--quick` is a smoke run (3 s loads, 500 + 30 couples). Needs `wrk` (Debian package) and Redis:
REDIS_URL, default redis://127.0.0.1:6379/13, which is flushed.
"""

import argparse
import asyncio
import json
import random
import re
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime

from harness import (
    TOKEN,
    Answer,
    allow_many_sockets,
    couple,
    flush,
    gunicorn,
    percentile,
    redis_url,
    request,
    signed_query,
    spawn,
    stop,
    wrk,
    wrk_line,
)

from bot import store
from bot.bookings import engine
from bot.bookings.slots import BookingRules, window_days
from bot.config import Config
from knowledge import offices

HANDBOOK_TEXTS = ["口罩怎么戴", "养老院可以探视吗", "发烧了怎么办", "居家隔离要注意什么", "消毒液怎么配"]
BOOKING_TEXTS = ["预约结婚登记", "芙蓉区", "明天上午", "下周三", "9点半", "1", "张三", "我的预约", "取消"]
OTHER_TEXTS = ["你好", "帮助", "我想捐款", "更多"]
MENU_KEYS = ["booking", "my_booking", "handbook_menu", "donation", "donation_materials", "volunteer"]

BURST_OFFICE = "changsha-furong"
CHAT_COUPLES_FROM = 1_000_000  # chat couples' own people are numbered from here (API couples from 0)
SHARED_EVERY = 5  # every fifth chat couple is also an API couple
MAX_CHAT_MESSAGES = 20
WECHAT_TIMEOUT_MS = 5000  # WeChat resends a message whose reply takes longer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--couples", type=int, default=5000)
    parser.add_argument("--chat-couples", type=int, default=300)
    parser.add_argument("--burst-connections", type=int, default=64, help="API requests in flight at once")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.couples, args.chat_couples = min(args.seconds, 3), 500, 30
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    allow_many_sockets(args.burst_connections + args.chat_couples + 256)

    url = redis_url()
    ours_env = {"REDIS_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_MAX_CLOCK_SKEW": "0"}
    print(f"gunicorn -w {args.workers}, Redis {url}", flush=True)

    flush(url)
    print(f"cold start to first reply: {cold_start(ours_env, args.workers):.2f} s", flush=True)

    print(f"\nmixed load: wrk {args.connections} connections, {args.seconds} s, {args.users} users", flush=True)
    peer_env = {"REDIS_URL": url, "WECHAT_TOKEN": TOKEN}
    bare = mixed("bare Flask (success)", "bench.bare_app:app", args.workers, {}, args)
    ours = mixed("Tongzhou /wechat", "app:app", args.workers, ours_env, args)
    peer = mixed("WeRoBot + RedisStorage", "bench.werobot_peer:app", args.workers, peer_env, args)
    single = mixed("Tongzhou /wechat, 1 worker", "app:app", 1, ours_env, args)
    print(f"ratio ours/bare: {ours['rps'] / bare['rps']:.2f}x   ours/WeRoBot: {ours['rps'] / peer['rps']:.2f}x")
    print(f"scaling: {args.workers} workers / 1 worker: {ours['rps'] / single['rps']:.2f}x", flush=True)

    # The burst checks that racing bookings fill each place exactly once, so the web channel may take every
    # place here (in service it holds at most WEB_OFFICE_DAY_SHARE_PERCENT of an office-day).
    burst({**ours_env, "PROXY_HOPS": "1", "WEB_OFFICE_DAY_SHARE_PERCENT": "100"}, url, args)


# ---- cold start and the mixed load ---------------------------------------------------------------


def signed_text(openid: str, text: str, msg_id: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def cold_start(env: dict, workers: int) -> float:
    """Seconds from spawning gunicorn to the first 200 answer to a signed text message."""
    started = time.monotonic()
    server = spawn("app:app", workers, env)
    try:
        while time.monotonic() - started < 60:
            if server.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {server.proc.returncode} while starting")
            post = urllib.request.Request(
                f"{server.url}/wechat?{signed_query()}", signed_text("o_cold", "你好", 1), {"Content-Type": "text/xml"}
            )
            try:
                with urllib.request.urlopen(post, timeout=5) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except urllib.error.HTTPError as refused:
                raise SystemExit(f"the first signed message was answered {refused.code}") from None
            except OSError:
                time.sleep(0.02)
        raise SystemExit("no answer within 60 s")
    finally:
        stop(server)


def mixed(name: str, target: str, workers: int, env: dict, args) -> dict:
    flush(env.get("REDIS_URL") or redis_url())
    lua_env = {
        "BENCH_USERS": str(args.users),
        "BENCH_TEXTS": "|".join(HANDBOOK_TEXTS + BOOKING_TEXTS + OTHER_TEXTS),
        "BENCH_CLICKS": "|".join(MENU_KEYS),
    }
    with gunicorn(target, workers, env) as server:
        url = f"{server.url}/wechat"
        wrk(url, "wechat.lua", args.connections, 2, lua_env)  # warm-up: imports, jieba, connection pools
        result = wrk(url, "wechat.lua", args.connections, args.seconds, lua_env)
        rss = server.worker_rss_mb()
    memory = ", ".join(f"{mb:.0f}" for mb in rss)
    print(f"{wrk_line(name, result)}  RSS per worker {memory} MB", flush=True)
    return result


# ---- the opening-morning burst -------------------------------------------------------------------


def burst(env: dict, url: str, args) -> None:
    flush(url)
    store.connect(url)
    office = offices.current().get(BURST_OFFICE)
    now = datetime.now(Config.from_env().tz)
    rules = BookingRules.from_config(Config.from_env())
    days = engine.availability_for([(office, d) for d in window_days(now, rules)], now=now, rules=rules)
    places = [(d.date, s.time) for d in days if d.open for s in d.slots]
    capacity = sum(s.capacity for d in days if d.open for s in d.slots)
    print(
        f"\nopening-morning burst: {args.couples} couples by API (≤{args.burst_connections} in flight) and "
        f"{args.chat_couples} by chat for {office.name}, {len(places)} slots on "
        f"{sum(d.open for d in days)} open days, capacity {capacity}",
        flush=True,
    )
    with gunicorn("app:app", args.workers, env) as server:
        host, port = server.host_port
        started = time.perf_counter()
        api, chat = asyncio.run(_race(host, port, office, places, args))
        seconds = time.perf_counter() - started

    api_outcomes = Counter(outcome for outcome, _ in api)
    api_latencies = [a.seconds * 1000 for _, answers in api for a in answers]
    chat_latencies = [a.seconds * 1000 for _, answers in chat for a in answers]
    chat_outcomes = Counter(outcome for outcome, _ in chat)
    requests = len(api_latencies) + len(chat_latencies)
    print(f"{requests} requests in {seconds:.1f} s = {requests / seconds:.0f} req/s")
    print(
        f"API:  {len(api_latencies)} requests  p50 {percentile(api_latencies, 50):.0f} ms  "
        f"p99 {percentile(api_latencies, 99):.0f} ms  max {max(api_latencies):.0f} ms  {dict(api_outcomes)}"
    )
    print(
        f"chat: {len(chat_latencies)} messages  p50 {percentile(chat_latencies, 50):.0f} ms  "
        f"p99 {percentile(chat_latencies, 99):.0f} ms  max {max(chat_latencies, default=0):.0f} ms  "
        f"over WeChat's 5 s (it would resend) {sum(ms > WECHAT_TIMEOUT_MS for ms in chat_latencies)}  "
        f"{dict(chat_outcomes)}"
    )
    check_burst(office, days, capacity)


async def _race(host: str, port: int, office, places: list, args):
    in_flight = asyncio.Semaphore(args.burst_connections)
    chooser = random.Random(2020)  # the same picks every run
    picks = [chooser.choice(places) for _ in range(args.couples)]

    async def post_booking(n: int, day, hhmm: str) -> Answer:
        body = {"channel": "web", "office_id": office.id, "date": day.isoformat(), "time": hhmm}
        body["applicants"] = couple(n)
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"  # each couple its own client address
        headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
        async with in_flight:
            return await request(host, port, "POST", "/api/v1/bookings", json.dumps(body).encode(), headers)

    async def api_couple(n: int):
        answers = [await post_booking(n, *picks[n])]
        outcome = _api_outcome(answers[-1])
        if outcome == "slot_full":
            nearest = [a for a in json.loads(answers[-1].body)["alternatives"] if a["office_id"] == office.id]
            if nearest:
                answers.append(await post_booking(n, date.fromisoformat(nearest[0]["date"]), nearest[0]["time"]))
                outcome = _api_outcome(answers[-1]) + " after taking an alternative"
        return outcome, answers

    async def chat_couple(c: int):
        n = c if c % SHARED_EVERY == 0 else CHAT_COUPLES_FROM + c
        day, hhmm = picks[c] if c < len(picks) else chooser.choice(places)
        return await _chat(host, port, f"o_burst_{c}", couple(n), office, day, hhmm, msg_ids=10_000_000 * (c + 1))

    chats = [chat_couple(c) for c in range(args.chat_couples)]
    results = await asyncio.gather(*chats, *(api_couple(n) for n in range(args.couples)))
    return results[len(chats) :], results[: len(chats)]


def _api_outcome(answer: Answer) -> str:
    if answer.status == 201:
        return "confirmed"
    try:
        return json.loads(answer.body)["error"]
    except (ValueError, KeyError):
        return f"HTTP {answer.status}"


_ASKS_FOR = re.compile(r"请发送(第一位|第二位)申请人的(姓名|18位身份证号)")
_NUMBERED = re.compile(r"^\d+\. ", re.M)
_CONTENT = re.compile(rb"<Content><!\[CDATA\[(.*?)\]\]></Content>", re.S)


async def _chat(host, port, openid: str, people: list[dict], office, day, hhmm: str, msg_ids: int):
    """One couple booking by chat: a fixed opening, then answering whatever the bot asks."""
    answers: list[Answer] = []
    chooser = random.Random(openid)

    async def say(text: str) -> str:
        body = signed_text(openid, text, msg_ids + len(answers))
        answer = await request(host, port, "POST", f"/wechat?{signed_query()}", body, {"Content-Type": "text/xml"})
        answers.append(answer)
        found = _CONTENT.search(answer.body)
        return found.group(1).decode() if answer.status == 200 and found else ""

    for text in ("预约", office.district, f"{day.month}月{day.day}日", hhmm):
        reply = await say(text)
    while len(answers) < MAX_CHAT_MESSAGES:
        if not reply:
            return "error", answers
        if "预约成功" in reply:
            return "confirmed", answers
        asked = _ASKS_FOR.findall(reply)
        if asked:
            who, what = asked[-1]
            person = people[0 if who == "第一位" else 1]
            reply = await say(person["name"] if what == "姓名" else person["id_number"])
        elif "无误请回复“确认”" in reply:
            reply = await say("确认")
        elif "回复数字" in reply:  # a list of dates, times or nearest alternatives: people pick differently
            reply = await say(str(chooser.randint(1, max(1, len(_NUMBERED.findall(reply))))))
        elif "已有一个有效预约" in reply:
            return "already_booked", answers
        else:
            return "stopped: " + reply.split("。")[0][:30], answers
    return f"gave up after {MAX_CHAT_MESSAGES} messages", answers


def check_burst(office, days, capacity: int) -> None:
    """Count in Redis: confirmed places at the office, and ID hashes held by two confirmed bookings."""
    client = store.client()
    taken = sum(int(n) for d in days for n in client.hvals(engine.KEYS["taken"] % (office.id, d.date.isoformat())))
    # Every booking record (a code is 6 characters), not the engine's own indexes of them.
    codes = [key.split(":")[1] for key in client.scan_iter(match=engine.KEYS["booking"] % "??????", count=1000)]
    pipe = client.pipeline(transaction=False)
    for code in codes:
        pipe.hmget(engine.KEYS["booking"] % code, "office_id", "status", "hash1", "hash2", "channel")
    records = [r for r in pipe.execute() if r[1] == engine.CONFIRMED]
    here = [r for r in records if r[0] == office.id]
    holders = Counter(h for r in records for h in r[2:4])
    twice = sum(1 for count in holders.values() if count > 1)
    channels = Counter(r[4] for r in here)
    verdict = "ok" if len(here) == taken == capacity else "WRONG"
    print(
        f"confirmed at {office.name}: {len(here)} (capacity {capacity}: {verdict}; taken counters {taken}) "
        f"by channel {dict(channels)}; elsewhere {len(records) - len(here)}"
    )
    print(f"ID numbers holding two confirmed bookings: {twice} ({'ok' if twice == 0 else 'WRONG'})", flush=True)


if __name__ == "__main__":
    main()
