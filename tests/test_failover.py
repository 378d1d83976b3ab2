"""Redis high availability: a booking is confirmed only once a replica holds it, and the service
rides through the primary's death under Sentinel.

Every Redis here is a real process on a free loopback port (primaries, replicas, redis-sentinel),
started by these tests and stopped by PID.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from app import create_app
from bot import queue, store
from bot.bookings import engine, reminders, slots
from bot.config import Config
from tests import test_bookings
from tests.chat import Chat
from tests.conftest import free_port
from tests.fakewechat import FakeWeChat
from tests.test_scheduler import CONFIRMATION, a_day_with_both_reminders_ahead, delivered_texts, say, wait_until

ROOT = Path(__file__).resolve().parents[1]
MASTER = "tongzhou"
FURONG = test_bookings.FURONG
BUSY = "系统繁忙"
# What every node of the documented layout runs with (README, "Redis high availability").
DURABLE = ["--appendonly", "yes", "--appendfsync", "everysec", "--min-replicas-to-write", "1"]

pytestmark = [
    pytest.mark.slow,  # every test here starts Redis processes of its own
    pytest.mark.skipif(not shutil.which("redis-sentinel"), reason="redis-sentinel is not installed"),
]


@dataclass
class Node:
    """One redis-server (or redis-sentinel) process with its own port and directory."""

    args: list[str]
    sentinel: bool = False
    port: int = field(default_factory=free_port)
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="tongzhou-ha-"))
    process: subprocess.Popen | None = None

    def start(self) -> "Node":
        if self.sentinel:
            conf = Path(self.workdir, "sentinel.conf")
            if not conf.exists():  # Sentinel rewrites its file with what it learns; keep that on restart
                conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n" + "\n".join(self.args) + "\n")
            command = ["redis-sentinel", str(conf)]
        else:
            command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.workdir]
            command += ["--save", "", *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(self.answers, 10), f"{command} did not start"
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=1, socket_connect_timeout=0.5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.exceptions.RedisError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture
def nodes():
    started: list[Node] = []

    def start(args, sentinel=False) -> Node:
        node = Node(list(args), sentinel=sentinel)
        started.append(node)
        return node.start()

    yield start
    for node in reversed(started):
        node.stop()


def replica_of(primary: Node) -> list[str]:
    return ["--replicaof", "127.0.0.1", str(primary.port)]


def in_sync(replica: Node) -> bool:
    try:
        return replica.client().info("replication").get("master_link_status") == "up"
    except redis.exceptions.ConnectionError:  # a node just (re)started may not listen yet
        return False


def couple_messages(day, hhmm) -> list[str]:
    him, her = test_bookings.id_number("19900101", "男"), test_bookings.id_number("19920202", "女")
    return [f"{day.month}月{day.day}日{hhmm}在芙蓉区登记结婚", "张伟", him, "李娜", her]


def booking_day():
    return a_day_with_both_reminders_ahead(datetime.now(Config().tz))


# --- WAIT: confirmed only once a replica holds it ---------------------------------------------


def app_waiting_on(primary, wait_ms: int):
    """An app that waits `wait_ms` for one replica after each booking script: short while there is none
    (the refusal comes quickly), generous once there is (an in-sync replica on a busy machine)."""
    config = Config(
        redis_url=f"redis://127.0.0.1:{primary.port}/0",
        redis_wait_replicas=1,
        redis_wait_ms=wait_ms,
        admin_token="staff-secret",
    )
    return create_app(config)


def test_a_booking_no_replica_acknowledged_is_busy_and_the_retry_confirms_it_once(nodes):
    primary, day = nodes([]), booking_day()
    chat = Chat(app_waiting_on(primary, 50), "o_ha_couple")
    for text in couple_messages(day, "09:00"):
        assert BUSY not in chat.say(text)

    assert BUSY in chat.say("确认")  # written on the primary, but no replica holds it yet

    replica = nodes(replica_of(primary))
    assert wait_until(lambda: in_sync(replica), 10)
    time.sleep(LOCK_LEASE_SECONDS)  # the busy turn's session lock runs out
    chat = Chat(app_waiting_on(primary, 2000), "o_ha_couple")
    answer = chat.say("确认")
    assert "预约成功" in answer, answer
    code = CONFIRMATION.search(answer).group(1)
    assert engine.get(code).active
    assert [b.code for b in engine.on_day(FURONG.id, day)] == [code]  # the retry found the first, not a second


LOCK_LEASE_SECONDS = 3.1


def test_wechats_resend_of_a_booking_no_replica_acknowledged_confirms_it_once_the_replica_is_back(nodes):
    primary, day = nodes([]), booking_day()
    chat = Chat(app_waiting_on(primary, 50), "o_ha_resend")
    for text in couple_messages(day, "10:00"):
        assert BUSY not in chat.say(text)
    assert BUSY in chat.say("确认", msg_id=916001)

    replica = nodes(replica_of(primary))
    assert wait_until(lambda: in_sync(replica), 10)
    chat = Chat(app_waiting_on(primary, 2000), "o_ha_resend")
    answer = chat.say("确认", msg_id=916001)  # the same message again: the busy turn let go of it
    assert "预约成功" in answer, answer
    assert [b.code for b in engine.on_day(FURONG.id, day)] == [CONFIRMATION.search(answer).group(1)]


def test_the_booking_api_answers_503_while_no_replica_acknowledges(nodes):
    primary = nodes([])
    him, her = (test_bookings.id_number("19900101", "男"), test_bookings.id_number("19920202", "女"))
    body = {
        "office_id": FURONG.id,
        "date": booking_day().isoformat(),
        "time": "09:30",
        "channel": "phone",
        "applicants": [{"name": "张伟", "id_number": him}, {"name": "李娜", "id_number": her}],
    }
    headers = {"Authorization": "Bearer staff-secret", "Idempotency-Key": "call-1"}

    refused = app_waiting_on(primary, 50).test_client().post("/api/v1/bookings", json=body, headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "系统繁忙" in refused.get_data(as_text=True)

    replica = nodes(replica_of(primary))
    assert wait_until(lambda: in_sync(replica), 10)
    accepted = app_waiting_on(primary, 2000).test_client().post("/api/v1/bookings", json=body, headers=headers)
    assert accepted.status_code == 201, accepted.data
    assert replica.client().exists(f"booking:{accepted.json['code']}")


def test_a_primary_cut_off_from_its_replicas_is_busy_not_broken(nodes):
    primary = nodes(DURABLE)  # min-replicas-to-write 1 and no replica: every write is refused
    app = create_app(Config(redis_url=f"redis://127.0.0.1:{primary.port}/0"))

    assert BUSY in Chat(app, "o_ha_cutoff").say("帮助")
    assert app.test_client().get("/healthz").status_code == 503


# --- the primary dies under Sentinel ------------------------------------------------------------

COUPLES = 10  # over three slots of three places: one couple meets a full slot
KILL_AFTER = 4  # couples booked before the primary is killed


def sentinel_config(primary: Node) -> list[str]:
    return [
        f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 2",
        f"sentinel down-after-milliseconds {MASTER} 1000",
        f"sentinel failover-timeout {MASTER} 5000",
    ]


def sentinels_ready(sentinels: list[Node]) -> bool:
    def ready(node):
        state = node.client().sentinel_master(MASTER)
        return state["num-other-sentinels"] == len(sentinels) - 1 and state["num-slaves"] >= 1

    return all(ready(node) for node in sentinels)


def current_primary_port(sentinels: list[Node]) -> int | None:
    for node in sentinels:
        try:
            return int(node.client().sentinel_get_master_addr_by_name(MASTER)[1])
        except (redis.exceptions.RedisError, TypeError):
            continue
    return None


def spawn(command, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed in the test's finally
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log


def supervise(primary: Node, replica: Node, sentinels: list[Node], stop: threading.Event, seen: dict) -> None:
    """What systemd does for the killed Redis: start it again, once Sentinel has promoted the
    replica (a primary back sooner would lead the replica to drop what it had), so it rejoins as
    the new primary's replica."""
    while not stop.wait(0.1):
        if primary.process.poll() is not None and current_primary_port(sentinels) == replica.port:
            seen["promoted"] = time.monotonic()
            primary.start()
            assert wait_until(lambda: in_sync(primary), 60)
            seen["rejoined"] = time.monotonic()
            return


def test_the_service_rides_through_the_primarys_death(nodes, tmp_path, capsys):
    primary = nodes(DURABLE)
    replica = nodes([*DURABLE, *replica_of(primary)])
    assert wait_until(lambda: in_sync(replica), 10)
    sentinels = [nodes(sentinel_config(primary), sentinel=True) for _ in range(3)]
    assert wait_until(lambda: sentinels_ready(sentinels), 30), "the Sentinels did not find each other"

    wechat = FakeWeChat().start()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WECHAT_AES_KEY", "SCHEDULER_IN_PROCESS")},
        "REDIS_SENTINELS": ",".join(f"127.0.0.1:{node.port}" for node in sentinels),
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_WAIT_MS": "500",
        "WECHAT_TOKEN": Config().wechat_token,
        "WECHAT_API_BASE": wechat.base_url,
        "WECHAT_APPID": wechat.appid,
        "WECHAT_SECRET": wechat.secret,
        "SCHEDULER_TICK_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"]
    started = [
        spawn(gunicorn, env, tmp_path / "app.log"),
        spawn([sys.executable, "-m", "scheduler"], env, tmp_path / "scheduler.log"),
    ]
    store.connect_for(Config.from_env(env))  # the test reads the store as the app does: through the Sentinels
    stop_supervising, seen = threading.Event(), {}
    try:
        assert wait_until(lambda: answers_chat(port), 60), "the app did not start"
        day = booking_day()
        office = engine.office_data.current().get(FURONG.id)
        times = slots.times_in_half_day(office, slots.MORNING)[:3]
        replies, confirmed, killed_at, back_at = [], {}, 0.0, 0.0
        for n in range(COUPLES):
            if n == KILL_AFTER:
                primary.kill()  # no shutdown, no last fsync
                killed_at = time.monotonic()
                threading.Thread(target=supervise, args=(primary, replica, sentinels, stop_supervising, seen)).start()
            openid = f"o-ha-{n}"
            for text in [*couple_messages(day, times[n % 3]), "确认"]:
                answer = say_until_answered(port, openid, text, replies)
                back_at = back_at or (killed_at and BUSY not in answer and time.monotonic())
            if found := CONFIRMATION.search(answer):
                confirmed[found.group(1)] = openid
        with capsys.disabled():
            print(
                f"\nfailover after SIGKILL of the primary: replica promoted at {seen['promoted'] - killed_at:.1f} s, "
                f"old primary back as its replica at {seen['rejoined'] - killed_at:.1f} s, "
                f"chat answering normally at {back_at - killed_at:.1f} s"
            )

        # Every booking a couple was told about is there; no slot holds more than its places.
        assert current_primary_port(sentinels) == replica.port, "Sentinel did not promote the replica"
        assert len(confirmed) == 3 * 3, replies
        for code, openid in confirmed.items():
            booking = engine.get(code)
            assert booking and booking.active and booking.openid == openid, code
        places = Counter(b.time for b in engine.on_day(FURONG.id, day) if b.active)
        assert set(places) == set(times) and max(places.values()) <= slots.capacity(office, day, slots.rules())
        # "系统繁忙" only after the kill, and the same app (never restarted) answers normally again.
        assert not any(BUSY in answer for answer in replies[: 6 * KILL_AFTER]), replies
        assert "您可以直接回复数字或文字" in say(port, "o-ha-after", "帮助")

        # The scheduler (never restarted either) sends each couple's two reminders, once each.
        due = [i for i in store.client().zrange(queue.DUE, 0, -1) if i.startswith(f"{reminders.REMINDER}:")]
        store.client().zadd(queue.DUE, dict.fromkeys(due, datetime.now(UTC).timestamp()))
        assert wait_until(lambda: len(delivered_texts(wechat)) >= 2 * len(confirmed), 30)
        time.sleep(1)  # more ticks: nothing goes twice
        texts = delivered_texts(wechat)
        assert len(set(texts)) == len(texts)
        assert Counter(code for text in texts for code in confirmed if code in text) == dict.fromkeys(confirmed, 2)
    finally:
        stop_supervising.set()
        for process, _log in started:
            process.send_signal(signal.SIGTERM)
        for process, log in started:
            process.wait(15)
            log.close()
        wechat.stop()


def answers_chat(port) -> bool:
    try:
        return BUSY not in say(port, "o-ha-probe", "帮助")
    except OSError:
        return False


def say_until_answered(port, openid, text, replies, seconds=60) -> str:
    """A citizen sending the same message again while the service answers "系统繁忙"."""
    deadline = time.monotonic() + seconds
    while True:
        answer = say(port, openid, text)
        replies.append(answer)
        if BUSY not in answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)
