"""Webhook throughput: Tongzhou under gunicorn against real Redis, next to a bare Flask app that
only answers `success`, both driven by wrk with the same signed text messages from many users.

    python bench/webhook.py [--connections 16] [--seconds 10] [--workers 2] [--users 10000]

Needs `wrk` (Debian package) and Redis (REDIS_URL, default redis://127.0.0.1:6379/13, which is
flushed). Prints req/s, p50/p99 latency, non-2xx count and the ratio ours/bare. bench/load.py
adds menu clicks, a WeRoBot peer, scaling, the opening-morning burst, memory and cold start.
"""

import argparse
import shutil

from harness import SIGNED_QUERY, TOKEN, flush, gunicorn, redis_url, wrk, wrk_line

DEFAULT_TEXTS = "你好|帮助|口罩怎么戴|预约结婚登记|我想捐款|养老院可以探视吗|更多|取消"


def measure(name: str, target: str, env: dict, args) -> dict:
    lua_env = {"BENCH_USERS": str(args.users), "BENCH_TEXTS": args.texts}
    with gunicorn(target, args.workers, env) as server:
        url = f"{server.url}/wechat?{SIGNED_QUERY}"
        wrk(url, "wechat.lua", args.connections, 2, lua_env)  # warm-up: imports, jieba, pools
        result = wrk(url, "wechat.lua", args.connections, args.seconds, lua_env)
    print(wrk_line(name, result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--texts", default=DEFAULT_TEXTS, help="messages separated by |")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    url = redis_url()
    flush(url)
    ours_env = {"REDIS_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_MAX_CLOCK_SKEW": "0"}
    print(f"wrk: {args.connections} connections, {args.seconds} s, {args.users} users, gunicorn -w {args.workers}")
    bare = measure("bare Flask (success)", "bench.bare_app:app", {}, args)
    ours = measure("Tongzhou /wechat", "app:app", ours_env, args)
    print(f"ratio ours/bare: {ours['rps'] / bare['rps']:.2f}x")


if __name__ == "__main__":
    main()
