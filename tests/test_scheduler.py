"""The scheduler against real Redis and the fake WeChat API: due work runs once, on time, never stale."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import queue
from bot.bookings import calendar, engine, reminders, slots, summaries
from bot.bookings.slots import BookingRules
from bot.config import Config
from bot.wechat import api, outbound, simulate
from scheduler import jobs, worker
from tests import test_bookings
from tests.conftest import free_port
from tests.fakewechat import CUSTOM_SEND, TEMPLATE_SEND, FakeWeChat

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
FURONG = test_bookings.FURONG
MONDAY_10AM = test_bookings.NOW
TIANXIN = test_bookings.TIANXIN
TUESDAY, WEDNESDAY, THURSDAY = test_bookings.TUESDAY, test_bookings.WEDNESDAY, test_bookings.THURSDAY
at = test_bookings.at
NOTICE_TEMPLATES = {"waitlist_promoted": {"template_id": "tpl-waitlist", "fields": {"first": "text"}}}


@pytest.fixture
def wechat():
    with FakeWeChat() as fake:
        yield fake


def client_for(fake):
    return api.make_client(fake.config())


@pytest.fixture
def outbox(r, wechat):
    reminder = outbound.Template("tpl-reminder", {"first": "text", "keyword1": "office", "keyword2": "time"})
    outbound.init(client_for(wechat), {"reminder_24h": reminder, "reminder_2h": reminder})
    yield
    outbound.init(None, {})


def keys(items):
    return sorted(item.key for item in items)


def delivered_texts(wechat):
    texts = [req.body["text"]["content"] for req in wechat.requests_to(CUSTOM_SEND)]
    return texts + [req.body["data"]["first"]["value"] for req in wechat.requests_to(TEMPLATE_SEND)]


def push_notice(r, n, openid="o-alice"):
    notice = {"key": f"HN{n:04d}:waitlist_promoted", "openid": openid, "kind": "waitlist_promoted",
              "text": f"候补成功：预约码 HN{n:04d} 已为您保留名额。"}  # fmt: skip
    r.rpush(jobs.NOTICES_PENDING, json.dumps(notice, ensure_ascii=False))


# --- the queue ------------------------------------------------------------------------------


def test_work_runs_when_due_and_not_before(r):
    queue.schedule("reminder", "HN0001:24h", NOW, {"code": "HN0001"})

    assert queue.claim_due(NOW - timedelta(seconds=1), 60, 10) == []
    (item,) = queue.claim_due(NOW, 60, 10)
    assert (item.kind, item.key, item.due_at, item.payload) == ("reminder", "HN0001:24h", NOW, {"code": "HN0001"})

    queue.complete(item)
    assert queue.claim_due(NOW + timedelta(days=30), 60, 10) == []


def test_unscheduled_work_never_runs(r):
    queue.schedule("reminder", "HN0001:24h", NOW, {})
    queue.unschedule("reminder", "HN0001:24h")

    assert queue.claim_due(NOW + timedelta(days=30), 60, 10) == []


def test_work_whose_worker_died_comes_back_after_the_lease(r):
    queue.schedule("reminder", "HN0001:24h", NOW, {})
    (first,) = queue.claim_due(NOW, 60, 10)  # ... and the worker is killed before complete()

    assert queue.claim_due(NOW + timedelta(seconds=59), 60, 10) == []
    (again,) = queue.claim_due(NOW + timedelta(seconds=61), 60, 10)
    assert again.key == first.key
    assert again.attempts == 2


def test_work_rescheduled_while_running_keeps_its_new_time(r):
    queue.schedule("reminder", "HN0001:24h", NOW, {"v": 1})
    (running,) = queue.claim_due(NOW, 60, 10)
    queue.schedule("reminder", "HN0001:24h", NOW + timedelta(hours=5), {"v": 2})
    queue.complete(running)

    assert queue.claim_due(NOW + timedelta(hours=4), 60, 10) == []
    (moved,) = queue.claim_due(NOW + timedelta(hours=5), 60, 10)
    assert moved.payload == {"v": 2}


def test_two_claimers_at_once_never_get_the_same_item(r):
    for n in range(200):
        queue.schedule("notice", f"HN{n:04d}", NOW, {})
    claimed = [[], []]

    def claim_all(mine):
        while batch := queue.claim_due(NOW, 60, 7):
            mine.extend(item.key for item in batch)

    threads = [threading.Thread(target=claim_all, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == [f"HN{n:04d}" for n in range(200)]


def test_pushed_notices_become_due_work_and_bad_ones_are_set_aside(r):
    push_notice(r, 1)
    r.rpush(jobs.NOTICES_PENDING, "not json", '{"openid": "o-bob"}')

    assert queue.adopt_list(jobs.NOTICES_PENDING, jobs.NOTICE, NOW, 10) == 1

    (item,) = queue.claim_due(NOW, 60, 10)
    assert (item.kind, item.key, item.payload["openid"]) == (jobs.NOTICE, "HN0001:waitlist_promoted", "o-alice")
    assert r.lrange(queue.REJECTED, 0, -1) == ["not json", '{"openid": "o-bob"}']
    assert r.llen(jobs.NOTICES_PENDING) == 0


# --- reminders ------------------------------------------------------------------------------


def book(day=WEDNESDAY, hhmm="09:00", openid="o-alice", now=MONDAY_10AM, office=FURONG):
    people = [
        {"name": "张伟", "id_number": test_bookings.id_number("19900101", "男")},
        {"name": "李娜", "id_number": test_bookings.id_number("19920202", "女")},
    ]
    outcome = engine.book(office, day, hhmm, people, now=now, openid=openid, registry=test_bookings.CHANGSHA)
    assert outcome.kind == engine.CONFIRMED, outcome
    return outcome.booking


def test_a_booking_gets_reminders_a_day_and_two_hours_before(r):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)

    assert queue.scheduled(reminders.REMINDER, f"{booking.code}:24h") == booking.starts_at - timedelta(hours=24)
    assert queue.scheduled(reminders.REMINDER, f"{booking.code}:2h") == booking.starts_at - timedelta(hours=2)


def test_a_booking_for_tomorrow_morning_gets_only_the_two_hour_reminder(r):
    booking = book(day=TUESDAY)
    reminders.plan(booking, now=MONDAY_10AM)

    assert queue.scheduled(reminders.REMINDER, f"{booking.code}:24h") is None
    assert queue.scheduled(reminders.REMINDER, f"{booking.code}:2h") == booking.starts_at - timedelta(hours=2)


def test_a_booking_made_by_phone_gets_no_wechat_reminder(r):
    reminders.plan(book(openid=""), now=MONDAY_10AM)

    assert r.zcard(queue.DUE) == 0


def test_a_moved_booking_is_reminded_only_at_its_new_time(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)
    moved = engine.reschedule(booking.code, FURONG, THURSDAY, "10:00", now=MONDAY_10AM).booking
    reminders.plan(moved, now=MONDAY_10AM)

    assert queue.claim_due(booking.starts_at, 60, 10) == []
    due = queue.claim_due(moved.starts_at, 60, 10)
    assert keys(due) == [f"{booking.code}:24h", f"{booking.code}:2h"]


def test_a_cancelled_booking_is_never_reminded(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)
    engine.cancel(booking.code, now=MONDAY_10AM)

    worker.run_due(booking.starts_at - timedelta(hours=24))
    worker.run_due(booking.starts_at - timedelta(hours=2))
    assert delivered_texts(wechat) == []


def test_a_booking_cancelled_without_telling_the_scheduler_still_gets_no_reminder(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)
    engine.cancel(booking.code, now=MONDAY_10AM)

    worker.run_due(booking.starts_at - timedelta(hours=24))
    assert delivered_texts(wechat) == []


def test_a_booking_moved_without_telling_the_scheduler_gets_no_reminder_for_the_old_time(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)
    engine.reschedule(booking.code, FURONG, THURSDAY, "10:00", now=MONDAY_10AM)

    worker.run_due(booking.starts_at - timedelta(hours=24))
    assert delivered_texts(wechat) == []


def test_the_reminder_tells_the_citizen_where_and_when(outbox, wechat):
    booking = book()
    outbound.note_user_message("o-alice", MONDAY_10AM)
    reminders.plan(booking, now=MONDAY_10AM)

    worker.run_due(booking.starts_at - timedelta(hours=24))

    (text,) = delivered_texts(wechat)
    assert "长沙市芙蓉区婚姻登记处" in text and "明天 3月4日 09:00" in text and booking.code in text
    assert len(text.encode()) < 2048


def test_a_booking_moved_after_its_first_reminder_is_reminded_of_the_new_time(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)
    worker.run_due(booking.starts_at - timedelta(hours=24))
    later = booking.starts_at - timedelta(hours=23)
    moved = engine.reschedule(booking.code, FURONG, THURSDAY, "10:00", now=later).booking
    reminders.plan(moved, now=later)

    worker.run_due(moved.starts_at - timedelta(hours=24))

    texts = delivered_texts(wechat)
    assert len(texts) == 2 and "3月4日 09:00" in texts[0] and "3月5日 10:00" in texts[1]


def test_a_reminder_that_comes_due_after_the_slot_is_not_sent(outbox, wechat):
    booking = book()
    reminders.plan(booking, now=MONDAY_10AM)

    worker.run_due(booking.starts_at + timedelta(minutes=1))  # the scheduler was down all day

    assert delivered_texts(wechat) == []


# --- the worker -----------------------------------------------------------------------------


def test_a_failing_job_is_retried_after_its_lease_then_given_up(r, monkeypatch):
    calls = []

    def broken(payload, now):
        calls.append(now)
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs.JOBS, "broken", jobs.Job(broken))
    queue.schedule("broken", "x", NOW, {})
    lease = timedelta(seconds=worker.LEASE_SECONDS + 1)

    for attempt in range(worker.MAX_ATTEMPTS + 2):
        worker.run_due(NOW + attempt * lease)

    assert len(calls) == worker.MAX_ATTEMPTS
    assert queue.scheduled("broken", "x") is None and not r.zscore(queue.LEASED, "broken:x")


def test_a_couple_who_never_came_is_marked_no_show_by_the_scheduler(outbox):
    booking = book(day=TUESDAY)

    worker.run_due(booking.starts_at + timedelta(hours=3))

    assert engine.get(booking.code).status == engine.NO_SHOW


def test_housekeeping_runs_once_per_period_however_often_it_ticks(r, monkeypatch):
    runs = []
    monkeypatch.setitem(jobs.JOBS, "tidy", jobs.Job(lambda payload, now: runs.append(now), every=timedelta(minutes=1)))

    for second in range(0, 150, 5):
        worker.run_due(NOW + timedelta(seconds=second))

    assert runs == [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]


def test_a_notice_pushed_by_the_booking_engine_reaches_the_citizen(outbox, wechat, r):
    outbound.note_user_message("o-alice", NOW)
    push_notice(r, 7)

    worker.run_due(NOW)

    assert delivered_texts(wechat) == ["候补成功：预约码 HN0007 已为您保留名额。"]


def test_a_closure_cancels_bookings_and_the_couple_hears_about_it(outbox, wechat):
    booking = book()
    outbound.note_user_message("o-alice", MONDAY_10AM)
    engine.close(WEDNESDAY, "疫情防控", now=MONDAY_10AM, office=FURONG)

    worker.run_due(MONDAY_10AM + timedelta(seconds=5))

    (text,) = delivered_texts(wechat)
    assert "疫情防控" in text and booking.code in text


# --- real scheduler processes ---------------------------------------------------------------


def scheduler_process(redis_url, wechat, log_path):
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WECHAT_API_BASE": wechat.base_url,
        "WECHAT_APPID": wechat.appid,
        "WECHAT_SECRET": wechat.secret,
        "WECHAT_TEMPLATES": json.dumps(NOTICE_TEMPLATES),
        "SCHEDULER_TICK_SECONDS": "0.1",
    }
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process below
    return subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=env, stdout=log, stderr=log), log


def stop(started) -> list[int]:
    """SIGTERM every (process, log) pair started; their exit codes."""
    for process, _log in started:
        process.send_signal(signal.SIGTERM)
    exit_codes = [process.wait(10) for process, _log in started]
    for _process, log in started:
        log.close()
    return exit_codes


def wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
def test_two_scheduler_processes_send_every_notice_exactly_once(r, redis_url, wechat, tmp_path):
    now = datetime.now(UTC)
    for n in range(60):
        openid = f"o-{n}"
        if n % 2:
            outbound.note_user_message(openid, now)  # half wrote recently: chat messages; the rest: templates
        push_notice(r, n, openid)
    started = [scheduler_process(redis_url, wechat, tmp_path / f"scheduler-{i}.log") for i in range(2)]
    try:
        done = wait_until(lambda: len(delivered_texts(wechat)) >= 60 and r.zcard(queue.LEASED) == 0)
    finally:
        exit_codes = stop(started)

    logs = "".join(path.read_text() for path in tmp_path.glob("scheduler-*.log"))
    assert done, logs
    assert exit_codes == [0, 0], logs
    counts = Counter(delivered_texts(wechat))
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert wechat.count(CUSTOM_SEND) == 30 and wechat.count(TEMPLATE_SEND) == 30


@pytest.mark.slow
def test_a_scheduler_killed_mid_tick_loses_nothing(r, redis_url, wechat, tmp_path):
    now = datetime.now(UTC)
    for n in range(5):
        outbound.note_user_message(f"o-{n}", now)
        push_notice(r, n, f"o-{n}")
    wechat.slow(CUSTOM_SEND, 2)
    process, log = scheduler_process(redis_url, wechat, tmp_path / "scheduler.log")
    try:
        sending = wait_until(lambda: any("sending" in (r.get(k) or "") for k in r.scan_iter("outbound:sent:*")))
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait(10)
        log.close()
    assert sending, (tmp_path / "scheduler.log").read_text()
    assert len([i for i in r.zrange(queue.LEASED, 0, -1) if i.startswith("notice:")]) == 5  # claimed, unfinished

    wechat.slow(CUSTOM_SEND, 0)
    outbound.init(client_for(wechat), {})
    try:
        worker.run_due(datetime.now(UTC) + timedelta(seconds=worker.LEASE_SECONDS + 1))
    finally:
        outbound.init(None, {})

    counts = Counter(delivered_texts(wechat))
    assert len(counts) == 5  # every notice arrived
    assert sum(counts.values()) - 5 <= 1  # only the one on the wire at the kill may have gone twice
    assert [i for i in r.zrange(queue.DUE, 0, -1) + r.zrange(queue.LEASED, 0, -1) if i.startswith("notice:")] == []


# --- the daily summary for staff ------------------------------------------------------------


def a_busy_tuesday():
    """At 芙蓉区 on Tuesday: one couple checked in, one never came, one cancelled, one still expected;
    two couples booked for Wednesday. 天心区 has only one couple, on Wednesday."""
    came, missed, cancelled, expected = (book(TUESDAY, hhmm) for hhmm in ("09:00", "09:30", "10:00", "16:30"))
    engine.cancel(cancelled.code, now=MONDAY_10AM)
    book(WEDNESDAY, "09:00")
    book(WEDNESDAY, "09:30")
    book(WEDNESDAY, "09:00", office=TIANXIN)
    engine.check_in(came.code, FURONG.id, now=at(TUESDAY, "08:50"))
    engine.mark_no_show(missed.code, now=at(TUESDAY, "09:45"))
    return expected


def test_the_summary_counts_each_offices_day_and_tomorrows_load(r):
    a_busy_tuesday()

    stored = summaries.write(TUESDAY)

    assert stored == {
        FURONG.id: {"booked": 3, "checked_in": 1, "no_show": 1, "cancelled": 1, "tomorrow": 2},
        TIANXIN.id: {"booked": 0, "checked_in": 0, "no_show": 0, "cancelled": 0, "tomorrow": 1},
    }
    assert summaries.read(TUESDAY) == stored
    assert summaries.read(THURSDAY) == {}  # not written yet


def test_writing_the_summary_again_recomputes_it(r):
    expected = a_busy_tuesday()
    summaries.write(TUESDAY)
    engine.mark_no_shows(at(TUESDAY, "17:01"))  # the 16:30 couple never came either

    summaries.write(TUESDAY)
    summaries.write(TUESDAY)

    assert engine.get(expected.code).status == engine.NO_SHOW
    assert summaries.read(TUESDAY)[FURONG.id] == {
        "booked": 3, "checked_in": 1, "no_show": 2, "cancelled": 1, "tomorrow": 2,
    }  # fmt: skip


def test_the_scheduler_writes_the_summary_when_it_starts_and_every_evening(r):
    a_busy_tuesday()

    worker.run_due(at(TUESDAY, "15:00"))
    assert summaries.read(TUESDAY)[FURONG.id]["no_show"] == 1
    assert queue.scheduled("summary", worker.HOUSEKEEPING_KEY) == at(TUESDAY, "20:00")

    worker.run_due(at(TUESDAY, "20:00"))  # the 16:30 couple never came: settled first, then counted
    assert summaries.read(TUESDAY)[FURONG.id]["no_show"] == 2
    assert queue.scheduled("summary", worker.HOUSEKEEPING_KEY) == at(WEDNESDAY, "20:00")


def test_a_scheduler_down_all_evening_completes_the_missed_day_after_midnight(r):
    a_busy_tuesday()
    worker.run_due(at(TUESDAY, "15:00"))

    worker.run_due(at(WEDNESDAY, "00:30"))

    assert summaries.read(TUESDAY)[FURONG.id]["no_show"] == 2
    assert summaries.read(WEDNESDAY)[FURONG.id]["booked"] == 2
    assert queue.scheduled("summary", worker.HOUSEKEEPING_KEY) == at(WEDNESDAY, "20:00")


def test_a_daily_job_runs_next_at_its_hour_of_the_services_day():
    daily = jobs.Job(summaries.write_daily, daily_at=summaries.DAILY_AT)
    assert daily.next_run(at(TUESDAY, "19:59")) == at(TUESDAY, "20:00")
    assert daily.next_run(at(TUESDAY, "20:00")) == at(WEDNESDAY, "20:00")
    assert jobs.Job(summaries.write_daily, every=timedelta(hours=1)).next_run(NOW) == NOW + timedelta(hours=1)


# --- two app processes and two schedulers together --------------------------------------------

COUPLES = 8
CONFIRMATION = re.compile(r"确认码：([2-9A-Z]{6})")


def app_process(env, port, log_path):
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "app:app"]
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process below
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log


def answers(port) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def say(port, openid, text) -> str:
    """One chat message, signed as WeChat signs it, posted to the app on `port`; the reply's text."""
    config = Config()
    query, body = simulate.signed(config, simulate.text(openid, text))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/wechat?{query}", data=body, timeout=10) as response:
        return simulate.readable(simulate.open_reply(config, response.read().decode()))


def a_day_with_both_reminders_ahead(now):
    """An ordinary open day at least two days off, so both the 24-hour and the 2-hour reminder are planned."""
    window = slots.window_days(now, BookingRules())
    return next(d for d in window if d >= now.date() + timedelta(days=2) and not calendar.calendar_reason(d))


def book_by_chat(ports, openid, day, hhmm, serial) -> str:
    """A couple books through the chat, each message going to the other app process; returns the code."""
    him = test_bookings.id_number("19900101", "男")
    her = test_bookings.id_number("19920202", "女")
    messages = [f"{day.month}月{day.day}日{hhmm}在芙蓉区登记结婚", "张伟", him, "李娜", her, "确认"]
    replies = [say(ports[(serial + n) % 2], openid, text) for n, text in enumerate(messages)]
    assert "预约成功" in replies[-1], replies
    return CONFIRMATION.search(replies[-1]).group(1)


def bring_reminders_forward(r, now) -> int:
    """Time passes: every planned reminder comes due now (the test cannot wait a day)."""
    planned = [item for item in r.zrange(queue.DUE, 0, -1) if item.startswith(f"{reminders.REMINDER}:")]
    r.zadd(queue.DUE, dict.fromkeys(planned, now.timestamp()))
    return len(planned)


@pytest.mark.slow
def test_two_app_processes_and_two_schedulers_send_every_reminder_exactly_once(r, redis_url, wechat, tmp_path):
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WECHAT_TOKEN": Config().wechat_token,
        "WECHAT_API_BASE": wechat.base_url,
        "WECHAT_APPID": wechat.appid,
        "WECHAT_SECRET": wechat.secret,
        "SCHEDULER_TICK_SECONDS": "0.1",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("WECHAT_AES_KEY", "SCHEDULER_IN_PROCESS"):
        env.pop(name, None)
    ports = [free_port(), free_port()]
    started = [app_process(env, port, tmp_path / f"app-{port}.log") for port in ports]
    started += [scheduler_process(redis_url, wechat, tmp_path / f"scheduler-{i}.log") for i in range(2)]
    try:
        assert wait_until(lambda: all(answers(port) for port in ports), 90), "the apps did not start"
        day = a_day_with_both_reminders_ahead(datetime.now(Config().tz))
        times = slots.times_in_half_day(engine.office_data.current().get(FURONG.id), calendar.MORNING)
        codes = [book_by_chat(ports, f"o-couple-{n}", day, times[n % len(times)], n) for n in range(COUPLES)]
        assert bring_reminders_forward(r, datetime.now(UTC)) == 2 * COUPLES

        def all_sent():
            waiting = r.zrange(queue.DUE, 0, -1) + r.zrange(queue.LEASED, 0, -1)
            return len(delivered_texts(wechat)) >= 2 * COUPLES and not any(i.startswith("reminder:") for i in waiting)

        done = wait_until(all_sent, 30)
    finally:
        exit_codes = stop(started)

    logs = "".join(path.read_text() for path in tmp_path.glob("*.log"))
    assert done, logs
    assert exit_codes == [0, 0, 0, 0], logs
    texts = delivered_texts(wechat)
    assert len(texts) == 2 * COUPLES
    # The 24-hour reminder says the slot is 明天, the 2-hour one 今天.
    sent = Counter((code, "24h" if "明天" in text else "2h") for text in texts for code in codes if code in text)
    assert sent == {(code, lead): 1 for code in codes for lead in ("24h", "2h")}
