"""Outbound messages against real Redis and the fake WeChat API: tokens, channels, quota, idempotency."""

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from wechatpy.exceptions import WeChatClientException

from bot.config import Config, ConfigError
from bot.wechat import api, outbound
from tests.fakewechat import CUSTOM_SEND, TEMPLATE_SEND, TOKEN, FakeWeChat

NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
TEMPLATES = {
    "reminder_24h": outbound.Template("tpl-reminder", {"first": "text", "keyword1": "office", "keyword2": "time"}),
    "waitlist_promoted": outbound.Template("tpl-waitlist", {"first": "text"}, url="https://example.invalid/b"),
}


@pytest.fixture
def wechat():
    with FakeWeChat() as fake:
        yield fake


def client_for(fake: FakeWeChat):
    return api.make_client(fake.config())


@pytest.fixture
def client(r, wechat):
    return client_for(wechat)


@pytest.fixture
def outbox(client):
    outbound.init(client, TEMPLATES)
    yield
    outbound.init(None, {})


def remind(openid="o-alice", key="HN0001:reminder_24h", now=NOW):
    return outbound.send(openid, "reminder_24h", key, "明天上午9:00请到芙蓉区婚姻登记处办理登记。",
                         {"office": "芙蓉区婚姻登记处", "time": "2月11日 09:00"}, now=now)  # fmt: skip


# --- the shared access token ------------------------------------------------------------------


def test_twenty_processes_starting_at_once_fetch_the_token_only_once(r, wechat):
    wechat.slow(TOKEN, 0.3)  # a slow token endpoint gives every caller time to pile up behind the refresh
    clients = [client_for(wechat) for _ in range(20)]
    start = threading.Barrier(20)
    errors = []

    def call(i):
        start.wait()
        try:
            clients[i].message.send_text(f"o-{i}", "你好")
        except Exception as exc:  # collected so a failure shows up in the assertion, not a thread traceback
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert wechat.count(TOKEN) == 1
    assert {req.query["access_token"] for req in wechat.requests_to(CUSTOM_SEND)} == {"token-1"}
    assert len(wechat.requests_to(CUSTOM_SEND)) == 20


def test_a_token_about_to_expire_is_refreshed_before_use(r):
    with FakeWeChat(expires_in=api.REFRESH_MARGIN_SECONDS - 60, valid_tokens=2) as wechat:
        client = client_for(wechat)
        client.message.send_text("o-1", "一")
        client.message.send_text("o-1", "二")
    assert wechat.count(TOKEN) == 2
    assert [req.query["access_token"] for req in wechat.requests_to(CUSTOM_SEND)] == ["token-1", "token-2"]


def test_a_rejected_token_is_refreshed_once_and_the_call_retried_once(client, wechat):
    client.message.send_text("o-1", "一")
    wechat.expire_tokens()  # someone fetched token-2 elsewhere (e.g. a debugging tool), retiring ours

    client.message.send_text("o-1", "二")

    assert wechat.count(TOKEN) == 2
    assert [req.query["access_token"] for req in wechat.requests_to(CUSTOM_SEND)] == ["token-1", "token-1", "token-3"]


def test_a_token_rejected_again_after_refresh_is_an_error_not_a_loop(client, wechat, caplog):
    wechat.fail(CUSTOM_SEND, 42001, times=5)

    with caplog.at_level(logging.ERROR), pytest.raises(WeChatClientException) as raised:
        client.message.send_text("o-1", "你好")

    assert raised.value.errcode == 42001
    assert wechat.count(CUSTOM_SEND) == 2
    assert wechat.count(TOKEN) == 2
    assert "errcode=42001" in caplog.text


def test_other_wechat_errors_are_logged_with_their_errcode(client, wechat, caplog):
    wechat.fail(CUSTOM_SEND, 43004)

    with caplog.at_level(logging.ERROR), pytest.raises(WeChatClientException):
        client.message.send_text("o-1", "你好")

    assert "errcode=43004" in caplog.text
    assert wechat.count(CUSTOM_SEND) == 1


# --- which channel ---------------------------------------------------------------------------


def test_someone_who_wrote_today_gets_the_reminder_as_a_chat_message(outbox, wechat):
    outbound.note_user_message("o-alice", NOW - timedelta(hours=3))

    outcome = remind()

    assert (outcome.status, outcome.channel) == (outbound.SENT, outbound.CUSTOM)
    (sent,) = wechat.requests_to(CUSTOM_SEND)
    assert sent.body == {"touser": "o-alice", "msgtype": "text",
                         "text": {"content": "明天上午9:00请到芙蓉区婚姻登记处办理登记。"}}  # fmt: skip
    assert wechat.count(TEMPLATE_SEND) == 0


def test_someone_who_last_wrote_over_48_hours_ago_gets_a_template_message(outbox, wechat):
    outbound.note_user_message("o-alice", NOW - timedelta(hours=48, seconds=1))

    outcome = remind()

    assert (outcome.status, outcome.channel) == (outbound.SENT, outbound.TEMPLATE)
    (sent,) = wechat.requests_to(TEMPLATE_SEND)
    assert sent.body["touser"] == "o-alice"
    assert sent.body["template_id"] == "tpl-reminder"
    assert sent.body["data"] == {
        "first": {"value": "明天上午9:00请到芙蓉区婚姻登记处办理登记。"},
        "keyword1": {"value": "芙蓉区婚姻登记处"},
        "keyword2": {"value": "2月11日 09:00"},
    }
    assert wechat.count(CUSTOM_SEND) == 0


def test_someone_who_never_wrote_gets_a_template_message(outbox, wechat):
    assert remind().channel == outbound.TEMPLATE
    assert wechat.count(CUSTOM_SEND) == 0


def test_only_five_chat_messages_follow_one_user_message(outbox, wechat):
    outbound.note_user_message("o-alice", NOW)
    channels = [remind(key=f"HN000{i}:reminder_24h").channel for i in range(6)]
    assert channels == [outbound.CUSTOM] * 5 + [outbound.TEMPLATE]

    outbound.note_user_message("o-alice", NOW + timedelta(minutes=1))
    assert remind(key="HN0009:reminder_24h", now=NOW + timedelta(minutes=2)).channel == outbound.CUSTOM


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_when_wechat_closes_the_chat_window_the_message_goes_as_a_template(outbox, wechat, errcode):
    outbound.note_user_message("o-alice", NOW - timedelta(hours=1))
    wechat.fail(CUSTOM_SEND, errcode)

    first = remind(key="HN0001:reminder_24h")
    second = remind(key="HN0002:reminder_24h")

    assert (first.status, first.channel) == (outbound.SENT, outbound.TEMPLATE)
    assert second.channel == outbound.TEMPLATE
    assert wechat.count(CUSTOM_SEND) == 1  # the closed window is not tried again until the user writes


# --- idempotency and records -----------------------------------------------------------------


def sent_record(r, key: str) -> dict | None:
    """What the sender recorded for a message key (None: never sent, or refused by WeChat)."""
    raw = r.get(f"outbound:sent:{key}")
    return json.loads(raw) if raw else None


def test_a_reminder_is_never_sent_twice(outbox, wechat, r):
    outbound.note_user_message("o-alice", NOW)

    assert remind().status == outbound.SENT
    assert remind(now=NOW + timedelta(hours=1)).status == outbound.DUPLICATE
    assert remind(now=NOW + timedelta(days=3)).status == outbound.DUPLICATE
    assert wechat.count(CUSTOM_SEND) + wechat.count(TEMPLATE_SEND) == 1
    assert sent_record(r, "HN0001:reminder_24h")["status"] == outbound.SENT


def test_a_message_refused_by_wechat_is_recorded_and_may_be_tried_again(outbox, wechat, r):
    wechat.fail(TEMPLATE_SEND, 43004)  # the user has unfollowed

    outcome = remind()

    assert (outcome.status, outcome.channel, outcome.errcode) == (outbound.FAILED, outbound.TEMPLATE, 43004)
    (record,) = [json.loads(raw) for raw in r.lrange("outbound:log", 0, -1)]  # the operators' log
    assert record["key"] == "HN0001:reminder_24h"
    assert (record["status"], record["errcode"]) == (outbound.FAILED, 43004)
    assert sent_record(r, "HN0001:reminder_24h") is None
    assert remind(now=NOW + timedelta(minutes=5)).status == outbound.SENT


def test_a_send_cut_off_midway_is_not_repeated(outbox, wechat, r):
    wechat.stop()  # the connection fails: WeChat may or may not have delivered it

    outcome = remind()

    assert outcome.status == outbound.UNCERTAIN
    assert sent_record(r, "HN0001:reminder_24h")["status"] == outbound.UNCERTAIN
    assert remind(now=NOW + timedelta(hours=1)).status == outbound.DUPLICATE


def test_a_sender_that_died_holding_a_message_leaves_it_to_others_after_its_claim_runs_out(outbox, wechat, r):
    stale_claim = json.dumps({"status": "sending", "until": (NOW + timedelta(seconds=10)).timestamp()})
    r.set("outbound:sent:HN0001:reminder_24h", stale_claim)

    assert remind().status == outbound.DUPLICATE  # the claim is still live: someone may be sending it
    assert remind(now=NOW + timedelta(seconds=11)).status == outbound.SENT


def test_a_kind_with_no_template_outside_the_window_fails_with_a_reason(outbox, wechat):
    outcome = outbound.send("o-alice", "office_closed", "HN0001:office_closed", "登记处今日暂停办理。", now=NOW)

    assert outcome.status == outbound.FAILED
    assert "no template configured" in outcome.reason
    assert wechat.count(TEMPLATE_SEND) == 0


def test_templates_come_from_the_environment():
    templates = '{"reminder_2h": {"template_id": "abc", "fields": {"first": "text"}}}'
    raw = Config.from_env({"TONGZHOU_ENV": "development", "WECHAT_TEMPLATES": templates})
    assert outbound.parse_templates(raw.wechat_templates) == {
        "reminder_2h": outbound.Template("abc", {"first": "text"})
    }
    assert outbound.parse_templates(Config.from_env({"TONGZHOU_ENV": "development"}).wechat_templates) == {}
    with pytest.raises(ConfigError, match="WECHAT_TEMPLATES"):
        outbound.parse_templates('{"reminder_2h": "abc"}')
