"""Webhook throughput: Tongzhou under gunicorn against real Redis, next to a bare Flask app that only
answers `success` and a WeRoBot bot keeping a per-user session in the same Redis, all driven by wrk
with the same signed text messages from many users; then, in this process, where one message's
time goes, stage by stage.

    python bench/webhook.py [--connections 16] [--seconds 10] [--workers 2] [--users 10000] [--rounds 3]
                            [--profile-messages 3000] [--no-wrk]

Needs `wrk` (Debian package) and Redis (REDIS_URL, default redis://127.0.0.1:6379/13, which is
flushed). Each round runs the three servers one after another (the order rotates between rounds, as
the machine is shared and its speed drifts) and prints req/s, p50/p99 latency, non-2xx and the ratios
ours/bare and ours/WeRoBot of that round; the medians over rounds come last. The in-process part
prints CPU µs per message for the three apps and Tongzhou's time per stage (each stage's functions
timed by wrapping them; the router's time split into routing, the language stage and handlers by a
cProfile run).
bench/load.py adds menu clicks, scaling, the opening-morning burst, memory and cold start.
"""

import argparse
import os
import shutil
import statistics
import sys
import time

from harness import (
    TOKEN,
    cpu_per_message,
    flush,
    gunicorn,
    redis_url,
    signed_bodies,
    stage_lines,
    stage_profile,
    wrk,
    wrk_line,
)

DEFAULT_TEXTS = "你好|帮助|口罩怎么戴|预约结婚登记|我想捐款|养老院可以探视吗|更多|取消"
SERVERS = (
    ("bare Flask (success)", "bench.bare_app:app", "bare"),
    ("Tongzhou /wechat", "app:app", "ours"),
    ("WeRoBot + RedisStorage", "bench.werobot_peer:app", "werobot"),
)


def measure(name: str, target: str, env: dict, args) -> dict:
    flush(redis_url())
    lua_env = {"BENCH_USERS": str(args.users), "BENCH_TEXTS": args.texts}
    with gunicorn(target, args.workers, env) as server:
        url = f"{server.url}/wechat"
        wrk(url, "wechat.lua", args.connections, 2, lua_env)  # warm-up: imports, jieba, pools
        result = wrk(url, "wechat.lua", args.connections, args.seconds, lua_env)
    print(wrk_line(name, result), flush=True)
    return result


def ratios(rps: dict) -> str:
    return f"ours/bare {rps['ours'] / rps['bare']:.2f}x   ours/WeRoBot {rps['ours'] / rps['werobot']:.2f}x"


def under_wrk(args) -> None:
    url = redis_url()
    envs = {
        "bare": {},
        "ours": {"REDIS_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_MAX_CLOCK_SKEW": "0"},
        "werobot": {"REDIS_URL": url, "WECHAT_TOKEN": TOKEN},
    }
    print(f"wrk: {args.connections} connections, {args.seconds} s, {args.users} users, gunicorn -w {args.workers}")
    rounds = []
    for n in range(args.rounds):
        order = SERVERS[n % 3 :] + SERVERS[: n % 3]
        print(f"round {n + 1}/{args.rounds}", flush=True)
        results = {key: measure(name, target, envs[key], args) for name, target, key in order}
        rounds.append(results)
        print(f"  {ratios({key: r['rps'] for key, r in results.items()})}", flush=True)
    median = {key: statistics.median(r[key]["rps"] for r in rounds) for _, _, key in SERVERS}
    p99 = max(r["ours"]["p99"] for r in rounds)
    non2xx = sum(r["ours"]["non2xx"] + r["ours"]["errors"] for r in rounds)
    print(f"median of {args.rounds} rounds: " + "  ".join(f"{key} {rps:.0f} req/s" for key, rps in median.items()))
    ratio_rounds = [r["ours"]["rps"] / r["werobot"]["rps"] for r in rounds]
    bare_rounds = [r["ours"]["rps"] / r["bare"]["rps"] for r in rounds]
    print(
        f"median ratios: ours/bare {statistics.median(bare_rounds):.2f}x   "
        f"ours/WeRoBot {statistics.median(ratio_rounds):.2f}x   "
        f"Tongzhou's worst p99 {p99:.2f} ms, non-2xx + socket errors {non2xx}",
        flush=True,
    )


def in_process(args) -> None:
    """CPU per message of the three apps in this process, and Tongzhou's stages under cProfile."""
    url = redis_url()
    os.environ.update(REDIS_URL=url, WECHAT_TOKEN=TOKEN)  # what werobot_peer reads at import
    from bare_app import app as bare
    from werobot_peer import app as werobot

    from app import create_app
    from bot.config import Config

    quiet, sys.stderr = sys.stderr, open(os.devnull, "w")  # the request log's handler writes here, as under gunicorn
    try:
        ours = create_app(Config(wechat_token=TOKEN, max_clock_skew=0, redis_url=url))
    finally:
        sys.stderr = quiet
    texts, count = args.texts.split("|"), args.profile_messages
    first_id = time.time_ns() // 1000  # MsgIds no earlier run used: every message is a first delivery
    print(f"\nin-process, {count} messages ({len(texts)} texts in turn, {min(args.users, count)} users):")
    for name, app in (("bare Flask", bare), ("WeRoBot + RedisStorage", werobot), ("Tongzhou", ours)):
        flush(url)
        cpu, wall = cpu_per_message(app, signed_bodies(texts, args.users, count, first_id))
        print(f"  {name:<24} CPU {cpu:6.0f} µs/message   wall {wall:6.0f} µs/message", flush=True)
    flush(url)
    per = stage_profile(ours, signed_bodies(texts, args.users, count, first_id + count))
    print("Tongzhou's stages per message (wall includes waiting for Redis and for a core):")
    print("\n".join(stage_lines(per)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three servers; medians are printed")
    parser.add_argument("--texts", default=DEFAULT_TEXTS, help="messages separated by |")
    parser.add_argument("--profile-messages", type=int, default=3000, help="messages for the in-process part")
    parser.add_argument("--no-wrk", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    if not args.no_wrk:
        if not shutil.which("wrk"):
            raise SystemExit("wrk is not installed: apt-get install wrk")
        under_wrk(args)
    in_process(args)


if __name__ == "__main__":
    main()
