"""Webhook throughput: Tongzhou under gunicorn against real Redis, next to a bare Flask app that
only answers `success`, both driven by wrk with the same signed text messages from many users.

    python bench/webhook.py [--connections 16] [--seconds 10] [--workers 2] [--users 10000]

Needs `wrk` (Debian package) and Redis (REDIS_URL, default redis://127.0.0.1:6379/13, which is
flushed). Prints req/s, p50/p99 latency, non-2xx count and the ratio ours/bare.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.protocol import sign  # noqa: E402

TOKEN = "bench-token"
TIMESTAMP, NONCE = "1700000000", "424242"
DEFAULT_TEXTS = "你好|帮助|口罩怎么戴|预约结婚登记|我想捐款|养老院可以探视吗|更多|取消"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, workers: int, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return proc, url
        except urllib.error.HTTPError:
            return proc, url  # bare app has no /healthz: a 404 means it is up
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{target} did not start")


def run_wrk(url: str, connections: int, seconds: int, users: int, texts: str) -> dict:
    query = f"signature={sign(TOKEN, TIMESTAMP, NONCE)}&timestamp={TIMESTAMP}&nonce={NONCE}"
    env = {**os.environ, "BENCH_USERS": str(users), "BENCH_TEXTS": texts}
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "wechat_text.lua"),
            f"{url}/wechat?{query}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return parse_wrk(out)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> dict:
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()
        result[f"p{pct}"] = _ms(value, unit)
    result["max"] = _ms(*re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", out).groups())
    return result


def measure(name: str, target: str, workers: int, env: dict, args) -> dict:
    proc, url = start_gunicorn(target, workers, env)
    try:
        run_wrk(url, args.connections, 2, args.users, args.texts)  # warm-up: imports, jieba, pools
        result = run_wrk(url, args.connections, args.seconds, args.users, args.texts)
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"{name:<28} {result['rps']:>9.0f} req/s  p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  "
        f"max {result['max']:7.2f} ms  non-2xx {result['non2xx']}  socket errors {result['errors']}",
        flush=True,
    )
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
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    ours_env = {"REDIS_URL": redis_url, "WECHAT_TOKEN": TOKEN, "WECHAT_MAX_CLOCK_SKEW": "0"}
    print(f"wrk: {args.connections} connections, {args.seconds} s, {args.users} users, gunicorn -w {args.workers}")
    bare = measure("bare Flask (success)", "bench.bare_app:app", args.workers, {}, args)
    ours = measure("Tongzhou /wechat", "app:app", args.workers, ours_env, args)
    print(f"ratio ours/bare: {ours['rps'] / bare['rps']:.2f}x")


if __name__ == "__main__":
    main()
