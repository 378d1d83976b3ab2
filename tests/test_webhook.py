"""The /wechat endpoint as WeChat's servers and attackers meet it."""

import threading
import time
from urllib.parse import urlencode

import pytest

from bot.wechat import simulate
from bot.wechat.protocol import sign

OFFICIAL_DOC_VECTORS = [  # token, timestamp, nonce, signature (../shared/wechat-fixtures/README.md §5)
    ("AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
    ("AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
    ("test", "1410685589", "test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"),
    ("spamtest", "1409735669", "1320562132", "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"),
]


@pytest.mark.parametrize("token,timestamp,nonce,signature", OFFICIAL_DOC_VECTORS)
def test_url_check_echoes_echostr_for_the_documented_signatures(make_app, token, timestamp, nonce, signature):
    client = make_app(wechat_token=token, max_clock_skew=0).test_client()
    query = urlencode(
        {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "4375120948345356249"}
    )
    response = client.get(f"/wechat?{query}")
    assert response.status_code == 200
    assert response.data == b"4375120948345356249"


def test_url_check_with_a_wrong_signature_is_forbidden(make_app):
    client = make_app(wechat_token="test", max_clock_skew=0).test_client()
    query = urlencode(
        {
            "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe",
            "timestamp": "1410685589",
            "nonce": "test",
            "echostr": "x",
        }
    )
    response = client.get(f"/wechat?{query}")
    assert response.status_code == 403
    assert b"Traceback" not in response.data


def _post(app, body: bytes, timestamp=None, **query_overrides):
    config = app.config["TONGZHOU"]
    timestamp = str(timestamp or int(time.time()))
    query = {"signature": sign(config.wechat_token, timestamp, "7"), "timestamp": timestamp, "nonce": "7"}
    query.update(query_overrides)
    return app.test_client().post(f"/wechat?{urlencode(query)}", data=body)


def test_unsigned_post_is_forbidden(app):
    response = _post(app, simulate.text("o1", "你好").encode(), signature="")
    assert response.status_code == 403


@pytest.mark.parametrize("offset", [-301, 301, 86400])
def test_stale_or_future_timestamp_is_forbidden(app, offset):
    response = _post(app, simulate.text("o1", "你好").encode(), timestamp=int(time.time()) + offset)
    assert response.status_code == 403


def test_timestamp_within_the_window_is_accepted(app):
    assert _post(app, simulate.text("o1", "你好").encode(), timestamp=int(time.time()) - 200).status_code == 200


def test_a_message_without_create_time_is_answered_as_received_now(app):
    body = b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>text</MsgType>"
    response = _post(app, body + "<Content>帮助</Content><MsgId>5</MsgId></xml>".encode())
    assert response.status_code == 200 and "预约结婚登记" in simulate.readable(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><FromUserName>o1",
        b"not xml at all",
        b"",
        b"<xml></xml>",
        b"<xml><MsgType>text</MsgType></xml>",
        "<xml>\udcff</xml>".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_bodies_get_400_without_a_trace(app, body):
    response = _post(app, body)
    assert response.status_code == 400
    assert b"Traceback" not in response.data and b"Error" not in response.data


XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><FromUserName>o1</FromUserName><MsgType>text</MsgType>
<Content>&lol3;</Content></xml>"""
# A comment may stand before the DTD and hold what looks like the root element's start; the DTD
# names an external file (which a parser that loads DTDs would fetch).
HIDDEN = b"""<!-- <xml> --><!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml><ToUserName>gh</ToUserName>
<FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content>
<MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize("body", [XXE, LAUGHS, HIDDEN], ids=["external-entity", "billion-laughs", "after-a-comment"])
def test_entity_tricks_are_refused(app, body):
    response = _post(app, body)
    assert response.status_code == 400
    assert b"root:" not in response.data


def test_body_over_64kb_is_413(app):
    body = simulate.text("o1", "字" * 30000).encode()
    assert len(body) > 64 * 1024
    assert _post(app, body).status_code == 413


def test_broken_ciphertext_is_400(make_app):
    app = make_app(wechat_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", wechat_appid="wx2c2769f8efd9abc2")
    config = app.config["TONGZHOU"]
    timestamp, nonce, encrypt = str(int(time.time())), "9", "bm90IGEgY2lwaGVydGV4dA=="
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    query = urlencode(
        {
            "signature": sign(config.wechat_token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": sign(config.wechat_token, timestamp, nonce, encrypt),
        }
    )
    assert app.test_client().post(f"/wechat?{query}", data=body).status_code == 400


def test_safe_mode_round_trip_with_our_own_key(make_app):
    from tests.chat import Chat

    app = make_app(wechat_aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", wechat_appid="wx49f0ab532d5d035a")
    response = Chat(app).post(simulate.text("o1", "帮助"))
    body = response.get_data(as_text=True)
    assert "<Encrypt>" in body and "帮助" not in body
    assert "预约结婚登记" in simulate.readable(simulate.open_reply(app.config["TONGZHOU"], body))


def test_a_retry_after_the_first_finished_gets_the_identical_reply(chat):
    xml = simulate.text(chat.openid, "帮助", msg_id=111)
    first, second = chat.post(xml).data, chat.post(xml).data
    assert first == second and b"<xml>" in first


def test_a_retry_while_the_first_is_still_running_waits_and_the_handler_runs_once(chat, monkeypatch):
    from bot.chat import router

    calls = []
    real_route = router.route

    def slow_route(message, session):
        calls.append(message.text)
        time.sleep(0.6)
        return real_route(message, session)

    monkeypatch.setattr(router, "route", slow_route)
    xml = simulate.text(chat.openid, "帮助", msg_id=222)
    results = []
    threads = [threading.Thread(target=lambda: results.append(chat.post(xml).data)) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(set(results)) == 1 and b"<xml>" in results[0]


def test_events_are_deduplicated_by_sender_time_and_key(chat):
    xml = simulate.event(chat.openid, "subscribe", created=1700000000)
    assert chat.post(xml).data == chat.post(xml).data


def test_a_failing_handler_gets_a_chinese_apology_not_a_500(chat, monkeypatch):
    from bot.chat import router

    def broken(message, session):
        raise RuntimeError("boom")

    monkeypatch.setattr(router, "route", broken)
    reply = chat.say("预约")
    assert "抱歉" in reply and "boom" not in reply


def test_user_text_with_cdata_terminator_does_not_break_the_reply(chat, monkeypatch):
    from bot.chat import router
    from bot.replies import Text

    monkeypatch.setattr(router, "route", lambda message, session: Text(f"您说的是：{message.text}"))
    assert chat.say("a]]>b<c>&d") == "您说的是：a]]>b<c>&d"


def test_long_answers_are_paged_with_more(chat, monkeypatch):
    from bot.chat import router
    from bot.replies import Text

    real_route = router.route
    long_text = "\n".join(f"第{i}条：" + "防疫知识" * 20 for i in range(40))
    monkeypatch.setattr(router, "route", lambda m, s: Text(long_text) if m.text == "长文" else real_route(m, s))
    pages = [chat.say("长文")]
    while pages[-1].endswith('（回复"更多"继续）'):
        pages.append(chat.say("更多"))
    assert len(pages) > 2
    assert all(len(p.encode()) <= 2048 for p in pages)
    joined = "\n".join(p.replace('\n\n（回复"更多"继续）', "") for p in pages)
    assert joined == long_text
    assert "没有更多" in chat.say("更多")


def test_healthz_reports_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["redis"] == "ok"


def test_healthz_is_503_when_redis_is_unreachable(make_app, redis_url):
    from app import create_app
    from bot.config import Config
    from tests.conftest import free_port

    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_citizens_get_system_busy_when_redis_is_unreachable():
    from app import create_app
    from bot.config import Config
    from tests.chat import Chat
    from tests.conftest import free_port

    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert "系统繁忙" in Chat(app).say("你好")


def test_each_request_logs_one_structured_line_without_the_raw_openid(chat, caplog):
    import json
    import logging

    with caplog.at_level(logging.INFO, logger="tongzhou.request"):
        chat.say("帮助")
    lines = [json.loads(rec.message) for rec in caplog.records if rec.name == "tongzhou.request"]
    assert len(lines) == 1
    line = lines[0]
    assert {"request_id", "openid", "msg_type", "intent", "latency_ms", "status"} <= set(line)
    assert line["intent"] == "help" and line["msg_type"] == "text"
    assert chat.openid not in caplog.text
