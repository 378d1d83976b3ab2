"""What one message costs the machine, in figures that hold still on a shared machine: the app's
instructions (valgrind's callgrind) and the Redis server's CPU and commands (a private redis-server).

    python bench/cost.py [--app ours|werobot|bare] [--messages 900] [--warm-up 100] [--distinct]
                         [--parts redis-cpu,redis-instructions,app-instructions] [--keep FILE]

Every part runs the benchmark's signed text messages (bench/webhook.py's texts, or with --distinct
each text with the message's number appended, so no cache hits) straight through the WSGI callable
against a redis-server of its own (a free port, no persistence), so no other client's commands are
counted, and counts only the messages after the warm-up:
  redis-cpu           INFO's used_cpu_user/used_cpu_sys and commandstats before and after (CPU
                      seconds: steadier than wall clocks, but still moved by a busy machine)
  redis-instructions  the redis-server runs under `valgrind --tool=callgrind` (and --hz 1),
                      instrumentation switched on by callgrind_control after the warm-up (user
                      space only)
  app-instructions    the Python process runs under callgrind, PYTHONHASHSEED=0, instrumentation
                      switched on and off around the messages through callgrind's client requests
                      (a 2-line helper compiled with the system's cc); only the app's process
Needs redis-server, and valgrind (callgrind_control) and cc for the instruction counts.
"""

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import TOKEN, free_port, post_in_process, signed_bodies
from webhook import DEFAULT_TEXTS

_TOGGLE_C = """
#include <valgrind/callgrind.h>
void cost_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cost_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("messages"); }
"""


def bodies(args, first_id: int) -> list[bytes]:
    count = args.warm_up + args.messages
    made = signed_bodies(DEFAULT_TEXTS.split("|"), args.users, count, first_id)
    if not args.distinct:
        return made
    # The n-th message's text with n appended: every text new, as in traffic with few repeats.
    return [body.replace(b"]]></Content>", f" {n}]]></Content>".encode()) for n, body in enumerate(made)]


def make_app(name: str, url: str):
    os.environ.update(REDIS_URL=url, WECHAT_TOKEN=TOKEN, TONGZHOU_ENV="development")
    if name == "bare":
        from bare_app import app
    elif name == "werobot":
        from werobot_peer import app
    else:
        from app import create_app
        from bot.config import Config

        # The request log's handler writes to stderr: /dev/null, as under the benchmark's gunicorn.
        quiet, sys.stderr = sys.stderr, open(os.devnull, "w")
        try:
            app = create_app(Config(wechat_token=TOKEN, max_clock_skew=0, redis_url=url))
        finally:
            sys.stderr = quiet
    return app


# ---- a private redis-server ----------------------------------------------------------------------


def start_redis(under: tuple = (), options: tuple = ()) -> tuple[subprocess.Popen, str]:
    """A redis-server of our own on a free port (`under`: a command to run it under, e.g. valgrind)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *under,
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(300):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait()


def redis_figures(url: str) -> dict:
    import redis

    info = redis.Redis.from_url(url).info("all")
    figures = {"user": info["used_cpu_user"], "sys": info["used_cpu_sys"]}
    for name, value in info.items():
        if name.startswith("cmdstat_"):
            figures[name[len("cmdstat_") :]] = (value["calls"], value["usec"])
    return figures


def redis_part(args) -> None:
    proc, url = start_redis()
    try:
        app = make_app(args.app, url)
        messages = bodies(args, time.time_ns() // 1000)
        for body in messages[: args.warm_up]:
            post_in_process(app, body)
        before = redis_figures(url)
        for body in messages[args.warm_up :]:
            post_in_process(app, body)
        after = redis_figures(url)
    finally:
        stop(proc)
    n = args.messages
    user, sys_ = ((after[k] - before[k]) / n * 1e6 for k in ("user", "sys"))
    print(f"Redis CPU per message ({args.app}, {n} messages): {user + sys_:.0f} µs ({user:.0f} user, {sys_:.0f} sys)")
    for command in sorted(k for k in after if k not in ("user", "sys")):
        calls = after[command][0] - before.get(command, (0, 0))[0]
        usec = after[command][1] - before.get(command, (0, 0))[1]
        if command in ("info",) or not calls:
            continue
        per_call, per_message = usec / calls, usec / n
        print(f"  {command:<10} {calls / n:5.2f} calls/message  {per_call:6.2f} µs/call  {per_message:6.1f} µs/message")


# ---- callgrind -----------------------------------------------------------------------------------


def redis_instructions_part(args) -> None:
    with tempfile.TemporaryDirectory(prefix="tongzhou-cost-") as tmp:
        out = Path(tmp, "callgrind.out")
        # hz 1: the server's timer tasks run once a second instead of ten times, so a run slowed by a
        # busy machine counts hardly more of them.
        valgrind = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}")
        proc, url = start_redis(valgrind, ("--hz", "1"))
        try:
            app = make_app(args.app, url)
            messages = bodies(args, time.time_ns() // 1000)
            for body in messages[: args.warm_up]:
                post_in_process(app, body)
            _control("-i", "on", str(proc.pid))
            for body in messages[args.warm_up :]:
                post_in_process(app, body)
            _control("-d", "messages", str(proc.pid))
        finally:
            stop(proc)
        instructions = _counted(Path(tmp), args.keep and f"{args.keep}.redis")
    print(f"redis-server instructions per message ({args.app}): {instructions / args.messages / 1e3:.1f} k")


def _control(*command) -> None:
    subprocess.run(["callgrind_control", *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _counted(directory: Path, keep: str | None) -> int:
    """Instructions in the dump asked for around the messages (by the helper or callgrind_control),
    not the one at exit."""
    counted = [dump for dump in sorted(directory.glob("callgrind.out*")) if _TRIGGER.search(_head(dump))]
    if keep and counted:
        shutil.copy(counted[0], keep)  # for callgrind_annotate
    return sum(_total(dump) for dump in counted)


_TRIGGER = re.compile(r"^desc: Trigger: (Client Request: )?(dump )?messages", re.M)


def _head(dump: Path) -> str:
    return dump.read_text(errors="replace")[:3000]


def app_instructions_part(args) -> None:
    proc, url = start_redis()
    with tempfile.TemporaryDirectory(prefix="tongzhou-cost-") as tmp:
        helper = Path(tmp, "toggle.so")
        source = Path(tmp, "toggle.c")
        source.write_text(_TOGGLE_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(helper), str(source)], check=True)
        out = Path(tmp, "callgrind.out")
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        command += [sys.executable, __file__, "--inside", str(helper), "--redis", url, *_passed_on(args)]
        try:
            subprocess.run(command, check=True, env={**os.environ, "PYTHONHASHSEED": "0"}, stderr=subprocess.DEVNULL)
        finally:
            stop(proc)
        instructions = _counted(Path(tmp), args.keep)
    kind = "distinct texts" if args.distinct else "the benchmark's texts in turn"
    print(
        f"instructions per message ({args.app}, {args.messages} messages after {args.warm_up}, {kind}): "
        f"{instructions / args.messages / 1e6:.3f} M ({instructions / 1e6:.0f} M in all)"
    )


def _passed_on(args) -> list[str]:
    passed = ["--app", args.app, "--messages", str(args.messages), "--warm-up", str(args.warm_up)]
    return passed + ["--users", str(args.users)] + (["--distinct"] if args.distinct else [])


def _total(dump: Path) -> int:
    found = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M)
    return int(found.group(1)) if found else 0


def inside(args) -> None:
    """Under valgrind: warm up uninstrumented, then count the messages only."""
    toggle = ctypes.CDLL(args.inside)
    app = make_app(args.app, args.redis)
    messages = bodies(args, time.time_ns() // 1000)
    for body in messages[: args.warm_up]:
        post_in_process(app, body)
    toggle.cost_start()
    for body in messages[args.warm_up :]:
        post_in_process(app, body)
    toggle.cost_stop()


PARTS = {
    "redis-cpu": redis_part,
    "redis-instructions": redis_instructions_part,
    "app-instructions": app_instructions_part,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=("ours", "werobot", "bare"), default="ours")
    parser.add_argument("--messages", type=int, default=900)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--distinct", action="store_true", help="every text distinct: no cache hits")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of " + ", ".join(PARTS))
    parser.add_argument("--keep", help="copy the app's callgrind profile to this file (the server's to FILE.redis)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(args)
    parts = args.parts.split(",")
    if {"redis-instructions", "app-instructions"} & set(parts) and not (
        shutil.which("valgrind") and shutil.which("cc")
    ):
        raise SystemExit("valgrind and cc are needed for the instruction counts: apt-get install valgrind gcc")
    for part in parts:
        PARTS[part](args)


if __name__ == "__main__":
    main()
