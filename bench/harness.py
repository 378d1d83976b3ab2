"""What the benchmarks share: gunicorn servers, wrk runs, an asyncio HTTP client, made-up applicants.

Not a benchmark itself; bench/webhook.py, bench/booking.py and bench/load.py import it.
"""

import asyncio
import cProfile
import importlib
import io
import itertools
import os
import pstats
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.bookings import idcard  # noqa: E402
from bot.wechat.protocol import sign  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' database: flushed by them
TOKEN = "bench-token"
ADMIN_TOKEN = "bench-admin-token"
# Plain mode signs token/timestamp/nonce, and Tongzhou accepts each (timestamp, nonce) pair once, so
# every request carries a nonce of its own; the app runs with WECHAT_MAX_CLOCK_SKEW=0 so this fixed
# timestamp is accepted.
TIMESTAMP = "1700000000"
_nonces = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def signed_query() -> str:
    """A query string signed as WeChat signs it, with a nonce never used before in this run."""
    nonce = str(next(_nonces))
    return f"signature={sign(TOKEN, TIMESTAMP, nonce)}&timestamp={TIMESTAMP}&nonce={nonce}"


def redis_url() -> str:
    return os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# ---- servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen
    url: str

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname, parts.port

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each gunicorn worker (the master's children), from /proc/<pid>/status."""
        return [_rss_mb(pid) for pid in _children(self.proc.pid)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(target: str, workers: int, env: dict) -> Server:
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        # A backlog above the largest burst (1,000 simultaneous connections) so the kernel queues them.
        [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--backlog", "4096", "--log-level", "warning"]
        + [target],
        cwd=ROOT,
        # A benchmark is a development run: it may start without the production secrets.
        env={"TONGZHOU_ENV": "development", **os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Server(proc, f"http://127.0.0.1:{port}")


def wait_until_up(server: Server, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.proc.returncode} before answering")
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # the bare app and WeRoBot have no /healthz: any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise SystemExit(f"{server.url} did not start within {seconds:.0f} s")


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@contextmanager
def gunicorn(target: str, workers: int, env: dict):
    server = spawn(target, workers, env)
    try:
        wait_until_up(server)
        yield server
    finally:
        stop(server)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces: the parent pid is the second field after its closing ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


# ---- wrk ------------------------------------------------------------------------------------------


# More signed query strings than the fastest server answers in a second (bare Flask: ~5,000).
QUERIES_PER_SECOND = 8000


def wrk(url: str, script: str, connections: int, seconds: int, env: dict, threads: int = 2) -> dict:
    """Run wrk with a Lua script from bench/; the parsed figures (req/s, p50/p99/max ms, non-2xx, errors).

    The script gets a file of fresh signed query strings (BENCH_QUERIES), one per request: a reused
    nonce would be refused as a replay and show up as non-2xx.
    """
    with tempfile.NamedTemporaryFile("w", prefix="tongzhou-queries-", suffix=".txt") as queries:
        queries.write("\n".join(signed_query() for _ in range(QUERIES_PER_SECOND * seconds)) + "\n")
        queries.flush()
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
            + ["-s", str(ROOT / "bench" / script), url],
            capture_output=True,
            text=True,
            env={**os.environ, **env, "BENCH_QUERIES": queries.name, "BENCH_THREADS": str(threads)},
            check=True,
        ).stdout
    return parse_wrk(out)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict:
    result = {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s|m)", out).groups()
        result[f"p{pct}"] = _ms(value, unit)
    result["max"] = _ms(*re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)\b", out).groups())
    return result


def wrk_line(name: str, result: dict) -> str:
    return (
        f"{name:<30} {result['rps']:>8.0f} req/s  p50 {result['p50']:7.2f} ms  p99 {result['p99']:7.2f} ms  "
        f"max {result['max']:8.2f} ms  non-2xx {result['non2xx']}  socket errors {result['errors']}"
    )


# ---- an asyncio HTTP/1.1 client: one connection per request, as gunicorn's sync workers close them ----


@dataclass(frozen=True)
class Answer:
    status: int  # 0 when the connection failed
    body: bytes
    seconds: float


async def request(host: str, port: int, method: str, target: str, body: bytes = b"", headers=None) -> Answer:
    started = time.perf_counter()
    head = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    head.append(f"Content-Length: {len(body)}")
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        raw = await reader.read()  # to EOF: the server closes after its answer
        writer.close()
    except OSError:
        return Answer(0, b"", time.perf_counter() - started)
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return Answer(status, payload, time.perf_counter() - started)


def allow_many_sockets(wanted: int) -> None:
    """Raise this process's open-file limit (up to the hard limit) so thousands of sockets fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


# ---- made-up applicants ---------------------------------------------------------------------------

# Couple n's two people are born on BIRTH_BASE + n // 500 days and differ in the sequence code;
# bench/booking.lua makes the same numbers, so Python and wrk never hand out one person twice.
BIRTH_BASE = date(1975, 1, 1)
PER_BIRTHDAY = 500
REGION = "430102"  # 长沙市芙蓉区
MEN = ("张伟", "王强", "李明", "刘洋", "陈杰", "杨帆", "赵磊", "黄涛")
WOMEN = ("李娜", "王芳", "张敏", "刘静", "陈丽", "杨雪", "赵婷", "周颖")


def id_number(n: int, man: bool) -> str:
    """A valid 18-digit number, distinct for each (n, man): odd 17th digit for a man, even for a woman."""
    k = n % PER_BIRTHDAY
    birth = BIRTH_BASE + timedelta(days=n // PER_BIRTHDAY)
    first17 = f"{REGION}{birth:%Y%m%d}{k // 5:02d}{2 * (k % 5) + (1 if man else 0)}"
    return first17 + idcard.check_character(first17)


def couple(n: int) -> list[dict]:
    return [
        {"name": MEN[n % len(MEN)], "id_number": id_number(n, True)},
        {"name": WOMEN[n % len(WOMEN)], "id_number": id_number(n, False)},
    ]


def open_days(now, rules) -> list[date]:
    """Days inside the booking window that the statutory calendar keeps open (an empty store adds no closures)."""
    from bot.bookings import calendar, slots

    return [d for d in slots.window_days(now, rules) if not calendar.calendar_reason(d)]


# ---- in-process: where one message's time goes --------------------------------------------------

# (stage, module, function): a stage's time is its functions' time, measured by wrapping each for the
# run (a few calls per message, so the clocks cost little). The router's time is then split into
# routing, the language stage and handlers by their shares of it in a cProfile run.
STAGES = (
    ("verify", "bot.wechat.protocol", "check_envelope"),
    ("parse", "bot.wechat.protocol", "open_body"),
    ("parse", "bot.wechat.protocol", "parse"),
    ("claim/lock/load", "bot.chat.turns", "begin"),
    ("route", "bot.chat.router", "route"),
    ("render", "bot.chat.pipeline", "_paged"),
    ("render", "bot.wechat.render", "to_xml"),
    ("save/unlock", "bot.chat.turns", "end"),
    ("log", "bot.web.webhook", "_log"),
)
STAGE_ORDER = ("verify", "parse", "claim/lock/load", "route", "language", "handler", "render", "save/unlock", "log")


def signed_bodies(texts: list[str], users: int, count: int, first_id: int) -> list[bytes]:
    """`count` text messages like bench/wechat.lua's: the texts in turn, from `users` users, unique MsgIds."""
    return [
        (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o_bench_{n % users}]]>"
            f"</FromUserName><CreateTime>{TIMESTAMP}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{texts[n % len(texts)]}]]></Content><MsgId>{first_id + n}</MsgId></xml>"
        ).encode()
        for n in range(count)
    ]


def post_in_process(app, body: bytes) -> bytes:
    """One signed POST /wechat straight through the WSGI callable, as gunicorn would call it."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/wechat",
        "QUERY_STRING": signed_query(),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "text/xml",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    chunks = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    answer = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"in-process POST answered {statuses[0]}: {answer[:200]!r}")
    return answer


def cpu_per_message(app, bodies: list[bytes]) -> tuple[float, float]:
    """(CPU µs, wall µs) per message over `bodies`, after a warm-up with the first tenth."""
    warm = max(1, len(bodies) // 10)
    for body in bodies[:warm]:
        post_in_process(app, body)
    rest = bodies[warm:]
    cpu, wall = time.process_time(), time.perf_counter()
    for body in rest:
        post_in_process(app, body)
    return (time.process_time() - cpu) / len(rest) * 1e6, (time.perf_counter() - wall) / len(rest) * 1e6


@contextmanager
def timed_stages(clocks: dict):
    """While inside, each STAGES function adds its (wall, CPU) nanoseconds to clocks[stage]."""
    originals = []
    for stage, module_name, function in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, function)
        originals.append((module, function, original))
        setattr(module, function, _timed(original, clocks.setdefault(stage, [0, 0])))
    try:
        yield clocks
    finally:
        for module, function, original in originals:
            setattr(module, function, original)


def _timed(function, clock: list):
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            clock[0] += time.perf_counter_ns() - wall
            clock[1] += time.process_time_ns() - cpu

    return timed


def router_shares(app, bodies: list[bytes]) -> tuple[float, float]:
    """Shares of the router's time spent in the language stage and in handlers/ (under cProfile),
    counting only what the router calls directly (a handler asking the language stage stays the handler's)."""
    profile = cProfile.Profile()
    profile.enable()
    for body in bodies:
        post_in_process(app, body)
    profile.disable()
    stats = pstats.Stats(profile).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}

    def from_router(wanted) -> float:
        return sum(
            by_caller[3]
            for (file, _, name), (_, _, _, _, callers) in stats.items()
            if wanted(file, name)
            for (caller, _, _), by_caller in callers.items()
            if caller.endswith("bot/chat/router.py")
        )

    router = sum(
        ct
        for (file, _, name), (_, _, _, ct, _) in stats.items()
        if file.endswith("bot/chat/router.py") and name == "route"
    )
    language = from_router(lambda file, name: file.endswith("bot/chat/nlu.py") and name == "understand")
    handlers = from_router(lambda file, name: file.startswith(str(ROOT / "handlers")))
    return (language / router, handlers / router) if router else (0.0, 0.0)


def stage_profile(app, bodies: list[bytes]) -> dict[str, tuple[float, float]]:
    """(wall µs, CPU µs) per message for each of STAGE_ORDER, "framework" (Flask, the rest) and "total".

    Two thirds of `bodies` are timed; the last third (first deliveries too) is profiled for the share."""
    timed, profiled = bodies[: len(bodies) * 2 // 3], bodies[len(bodies) * 2 // 3 :]
    clocks: dict = {}
    with timed_stages(clocks):
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        for body in timed:
            post_in_process(app, body)
        total = [time.perf_counter_ns() - wall, time.process_time_ns() - cpu]
    language, handlers = router_shares(app, profiled)
    route = clocks["route"]
    clocks["language"] = [ns * language for ns in route]
    clocks["handler"] = [ns * handlers for ns in route]
    clocks["route"] = [ns * (1 - language - handlers) for ns in route]
    clocks["framework"] = [total[i] - sum(c[i] for c in clocks.values()) for i in (0, 1)]
    clocks["total"] = total
    return {stage: (ns[0] / len(timed) / 1000, ns[1] / len(timed) / 1000) for stage, ns in clocks.items()}


def stage_lines(per: dict[str, tuple[float, float]]) -> list[str]:
    share = {stage: cpu / per["total"][1] for stage, (_, cpu) in per.items()}
    return [
        f"  {stage:<16} wall {per[stage][0]:6.0f} µs   CPU {per[stage][1]:6.0f} µs {share[stage]:6.1%} of CPU"
        for stage in (*STAGE_ORDER, "framework", "total")
    ]
