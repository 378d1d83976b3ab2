"""What operators see: /metrics (Prometheus, staff token only) and /healthz's liveness and readiness."""

import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from bot import queue
from bot.config import Config
from bot.wechat import outbound, simulate
from tests import test_bookings
from tests.chat import Chat
from tests.conftest import free_port
from tests.fakewechat import FakeWeChat
from tests.test_scheduler import a_day_with_both_reminders_ahead, client_for, wait_until

ROOT = Path(__file__).resolve().parents[1]
STAFF = {"Authorization": "Bearer staff-secret"}


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} from the app's /metrics."""
    response = client.get("/metrics", headers=STAFF)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return _samples(response.get_data(as_text=True))


def _samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grown(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_for_staff_only(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert client.get("/metrics", headers=STAFF).status_code == 200


def test_messages_are_counted_by_type_and_intent_with_their_reply_time(client, chat):
    before = scrape(client)
    chat.say("帮助")
    chat.say("口罩怎么戴")
    chat.click("handbook_menu")
    after = scrape(client)

    assert grown(before, after, "tongzhou_messages_total", type="text", intent="help") == 1
    assert grown(before, after, "tongzhou_messages_total", type="event:click", intent="faq.categories") == 1
    assert grown(before, after, "tongzhou_reply_seconds_count") == 3
    assert grown(before, after, "tongzhou_reply_seconds_bucket", le="5.0") == 3
    results = ("answered", "suggested", "not_covered")
    # The mask question got an answer, a suggestion or an honest "not covered": one of the three.
    assert sum(grown(before, after, "tongzhou_handbook_questions_total", result=r) for r in results) == 1


def test_retries_and_rate_limited_messages_are_counted(client, chat):
    from bot.chat import turns

    before = scrape(client)
    xml = simulate.text(chat.openid, "帮助", msg_id=424242)
    chat.reply_xml(xml)
    chat.reply_xml(xml)  # WeChat's retry of the same MsgId
    flooder = Chat(chat.app, "o_flooder")
    replies = [flooder.say(f"第{n}条") for n in range(turns.MESSAGES_PER_MINUTE + 1)]
    after = scrape(client)

    assert "太频繁" in replies[-1]
    assert grown(before, after, "tongzhou_wechat_retries_deduped_total") == 1
    assert grown(before, after, "tongzhou_rate_limited_messages_total") == 1


def test_bookings_are_counted_by_outcome_and_channel(client):
    day = a_day_with_both_reminders_ahead(datetime.now(Config().tz))
    body = {"office_id": "changsha-furong", "date": day.isoformat(), "time": "09:00", "channel": "phone"}
    nobody = [{"name": "张伟", "id_number": "1"}] * 2
    before = scrape(client)
    booked = client.post("/api/v1/bookings", json={**body, "applicants": test_bookings.couple()}, headers=STAFF)
    refused = client.post("/api/v1/bookings", json={**body, "applicants": nobody}, headers=STAFF)
    after = scrape(client)

    assert (booked.status_code, refused.status_code) == (201, 422)
    assert grown(before, after, "tongzhou_bookings_total", outcome="confirmed", channel="phone") == 1
    assert grown(before, after, "tongzhou_bookings_total", outcome="invalid", channel="phone") == 1


def test_store_errors_are_counted_where_they_happened():
    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0", admin_token="staff-secret"))
    client = app.test_client()
    assert "系统繁忙" in Chat(app, "o_unlucky").say("你好")
    text = client.get("/metrics", headers=STAFF).get_data(as_text=True)

    assert value(_samples(text), "tongzhou_store_errors_total", where="chat", error="ConnectionError") >= 1


def test_outbound_sends_are_counted_by_channel_and_result(r, client):
    with FakeWeChat() as wechat:
        outbound.init(client_for(wechat), {})
        try:
            now = datetime.now(UTC)
            before = value(scrape(client), "tongzhou_outbound_sends_total", channel="custom", result="sent")
            outbound.note_user_message("o-alice", now)
            outbound.send("o-alice", "reminder_24h", "HN0001:reminder_24h", "明天见", now=now)
            after = value(scrape(client), "tongzhou_outbound_sends_total", channel="custom", result="sent")
        finally:
            outbound.init(None, {})
    assert after - before == 1


def test_scheduler_lag_is_the_age_of_the_oldest_due_item(client):
    assert value(scrape(client), "tongzhou_scheduler_lag_seconds") == 0
    queue.schedule("notice", "late-one", datetime.now(UTC) - timedelta(minutes=2), {})
    assert 120 <= value(scrape(client), "tongzhou_scheduler_lag_seconds") < 180


def test_liveness_does_not_need_redis_but_readiness_does():
    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    client = app.test_client()
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/healthz/ready").status_code == 503
    assert client.get("/healthz").json["redis"] == "unreachable"


def test_readiness_reports_the_knowledge_in_service(client):
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200
    assert ready.json["redis"] == "ok" and ready.json["knowledge"]["offices"] == 122
    assert ready.json["knowledge"]["handbook"] > 0


@pytest.mark.slow
def test_under_gunicorn_every_worker_reports_the_whole_services_figures(r, redis_url, tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("WECHAT_AES_KEY", "SCHEDULER_IN_PROCESS")},
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "WORKERS": "2",
        "ADMIN_TOKEN": "staff-secret",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"]
    with open(tmp_path / "gunicorn.log", "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        assert wait_until(lambda: _get(port, "/healthz/live")[0] == 200, 60), (tmp_path / "gunicorn.log").read_text()
        config = Config()
        for n in range(10):
            query, body = simulate.signed(config, simulate.text(f"o-metrics-{n}", "帮助"))
            urllib.request.urlopen(f"http://127.0.0.1:{port}/wechat?{query}", data=body, timeout=10).close()
        totals = set()
        for _ in range(6):  # whichever worker answers the scrape
            status, text = _get(port, "/metrics", STAFF)
            assert status == 200
            totals.add(value(_samples(text), "tongzhou_messages_total", type="text", intent="help"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    assert totals == {10.0}


def _get(port, path, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""
