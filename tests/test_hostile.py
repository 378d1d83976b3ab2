"""Hostile input (issue 8): whatever arrives at `/wechat` or the JSON API, the service answers with the
right 4xx or a clean Chinese reply — never a 5xx, never a stack trace, a full ID number or a secret.

The corpus (tests/hostile_corpus.py) is generated from a fixed seed; hypothesis fuzzes the parser, the
date understanding and the dialogue with derandomized examples, so every run sends the same requests.
"""

import logging
import re
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bookings import calendar, dates, idcard, slots
from bot.bookings.slots import BookingRules
from bot.chat import pipeline, turns
from bot.config import Config
from bot.web import auth, ratelimit
from bot.web.api import bookings as bookings_api
from bot.wechat import protocol, simulate
from tests import hostile_corpus as corpus
from tests.chat import Chat

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APPID = "wx49f0ab532d5d035a"
SECRETS = {
    "wechat_token": "hostile-test-token-5f2e",
    "admin_token": "hostile-admin-token-91c4",
    "wechat_secret": "hostile-app-secret-7d0b",
}
TZ = ZoneInfo("Asia/Shanghai")
FUZZ = settings(
    deadline=None,
    derandomize=True,
    max_examples=200,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_TRACE = re.compile(r"Traceback|File \"|\.py\b|site-packages|/work/|Error\b|Exception\b")
_ID_SHAPE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def full_id_numbers(text: str) -> list[str]:
    """18-digit runs whose check character is right: real-looking ID numbers, which must be masked."""
    return [n for n in _ID_SHAPE.findall(text) if idcard.check_character(n[:17]) == n[17].upper()]


def leaks(text: str, config) -> list[str]:
    """What a reply must never show: a stack trace, a full ID number, a secret."""
    return [f"trace: {m.group()}" for m in _TRACE.finditer(text)] + personal_data_or_secrets(text, config)


def personal_data_or_secrets(text: str, config) -> list[str]:
    """What neither a reply nor a log line may carry."""
    found = [f"ID number {n}" for n in full_id_numbers(text)]
    secrets = (config.wechat_token, config.admin_token, config.wechat_secret, config.wechat_aes_key)
    found += [f"secret {s[:6]}…" for s in secrets if s and s in text]
    return found


def open_day() -> str:
    """An ordinary open day in the real booking window (the API reads the real clock)."""
    now = datetime.now(TZ)
    return next(d for d in slots.window_days(now, BookingRules()) if not calendar.calendar_reason(d)).isoformat()


@pytest.fixture
def plain_app(make_app):
    return make_app(**SECRETS)


@pytest.fixture
def safe_app(make_app):
    return make_app(**SECRETS, wechat_aes_key=AES_KEY, wechat_appid=APPID)


def send(app, attack: corpus.Attack):
    client = app.test_client()
    return client.open(
        attack.path,
        method=attack.method,
        data=attack.body,
        headers=dict(attack.headers),
        environ_base={"REMOTE_ADDR": attack.remote_addr},
    )


def what_went_wrong(app, attack: corpus.Attack, response) -> list[str]:
    config = app.config["TONGZHOU"]
    problems = []
    if response.status_code not in attack.expect:
        problems.append(f"status {response.status_code}, expected {attack.expect}")
    body = response.get_data(as_text=True)
    problems += leaks(body, config)
    if response.is_json and response.status_code >= 400 and not _CJK.search(response.get_json()["message"]):
        problems.append("the API's error message is not Chinese")
    if attack.chat_reply and response.status_code == 200:
        reply = simulate.readable(simulate.open_reply(config, body))
        problems += leaks(reply, config)
        if not _CJK.search(reply):
            problems.append(f"reply is not Chinese: {reply[:60]!r}")
        if len(reply.encode()) > 2048:
            problems.append(f"reply is {len(reply.encode())} bytes")
        if pipeline.APOLOGY in reply:
            problems.append("a handler crashed (apology)")
    return problems


def run(app, attacks, caplog) -> dict[str, list[str]]:
    """Send every attack; the problems found, by attack name (empty when all went right)."""
    failures = {}
    with caplog.at_level(logging.INFO):
        for attack in attacks:
            problems = what_went_wrong(app, attack, send(app, attack))
            if problems:
                failures[attack.name] = problems
    config = app.config["TONGZHOU"]
    crashes = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    if crashes:
        failures["logged errors"] = crashes[:5]
    log_leaks = personal_data_or_secrets("\n".join(r.getMessage() for r in caplog.records), config)
    if log_leaks:
        failures["log lines"] = log_leaks[:5]
    return failures


def test_the_corpus_has_at_least_500_hostile_requests():
    config = Config()
    total = (
        corpus.wechat_attacks(config, 1_700_000_000)
        + corpus.safe_mode_attacks(Config(wechat_aes_key=AES_KEY, wechat_appid=APPID), 1_700_000_000)
        + corpus.api_attacks("2026-05-18")
    )
    assert len(total) >= 500
    assert len({a.name for a in total}) == len(total)


def test_hostile_wechat_requests_in_plain_mode_get_the_right_4xx_or_a_clean_chinese_reply(plain_app, caplog):
    attacks = corpus.wechat_attacks(plain_app.config["TONGZHOU"], int(time.time()))
    assert run(plain_app, attacks, caplog) == {}


def test_hostile_wechat_requests_in_safe_mode_get_the_right_4xx_or_a_clean_chinese_reply(safe_app, caplog):
    attacks = corpus.safe_mode_attacks(safe_app.config["TONGZHOU"], int(time.time()))
    assert run(safe_app, attacks, caplog) == {}


def test_hostile_api_requests_get_the_right_4xx_in_chinese(plain_app, caplog):
    attacks = corpus.api_attacks(open_day())
    assert run(plain_app, attacks, caplog) == {}


# --- replays, rate limits, staff tokens ----------------------------------------------------------


def test_a_replayed_request_gets_the_first_reply_and_changes_nothing(plain_app, monkeypatch):
    from bot.chat import router

    calls = []
    real_route = router.route
    monkeypatch.setattr(router, "route", lambda m, s: calls.append(m.text) or real_route(m, s))
    chat = Chat(plain_app, "o_replayed")
    query, body = simulate.signed(plain_app.config["TONGZHOU"], simulate.text(chat.openid, "帮助", msg_id=4242))
    replies = [chat.client.post(f"/wechat?{query}", data=body) for _ in range(5)]
    assert {r.status_code for r in replies} == {200}
    assert len({r.data for r in replies}) == 1
    assert calls == ["帮助"]


def test_a_request_recorded_ten_minutes_ago_is_refused(plain_app):
    chat = Chat(plain_app, "o_recorded")
    recorded = int(time.time()) - 600
    response = chat.post(simulate.text(chat.openid, "帮助", created=recorded), timestamp=recorded)
    assert response.status_code == 403


def test_someone_flooding_the_chat_is_asked_in_chinese_to_slow_down(plain_app):
    chat = Chat(plain_app, "o_flooder")
    replies = [chat.say(f"口罩第{i}问") for i in range(turns.MESSAGES_PER_MINUTE + 3)]
    assert not any("太频繁" in r for r in replies[: turns.MESSAGES_PER_MINUTE])
    assert all(r == pipeline.TOO_FAST for r in replies[turns.MESSAGES_PER_MINUTE :])
    assert "太频繁" not in Chat(plain_app, "o_neighbour").say("帮助"), "another citizen is not slowed down"


@pytest.fixture
def one_window(monkeypatch):
    """The web limit's clock stopped mid-window, so a burst can't straddle two windows."""
    real_allow = ratelimit.allow
    monkeypatch.setattr(ratelimit, "allow", lambda bucket, limit, window, now: real_allow(bucket, limit, window, 30.0))


def test_a_script_hammering_web_booking_from_one_address_gets_429_in_chinese(plain_app, one_window):
    client = plain_app.test_client()

    def attempt(address):
        return client.post("/api/v1/bookings", json={"channel": "web"}, environ_base={"REMOTE_ADDR": address})

    answers = [attempt("192.0.2.7") for _ in range(bookings_api.WEB_LIMIT + 2)]
    assert [a.status_code for a in answers[: bookings_api.WEB_LIMIT]] == [422] * bookings_api.WEB_LIMIT
    refused = answers[bookings_api.WEB_LIMIT :]
    assert {a.status_code for a in refused} == {429}
    assert all(a.get_json()["message"] == "请求过于频繁，请稍后再试" for a in refused)
    assert attempt("192.0.2.8").status_code == 422, "another address is not limited"


STAFF_ENDPOINTS = [
    ("POST", "/api/v1/bookings/ABCDEF/checkin", {"office_id": "changsha-furong"}),
    ("POST", "/api/v1/nlu/parse", {"text": "明天"}),
    ("GET", "/api/v1/faq/misses", None),
    ("POST", "/api/v1/faq/reload", {}),
]


@pytest.mark.parametrize("method,path,body", STAFF_ENDPOINTS)
def test_staff_endpoints_refuse_a_missing_or_wrong_token_and_lock_out_a_guesser_with_429(plain_app, method, path, body):
    client = plain_app.test_client()
    missing = client.open(path, method=method, json=body)
    assert missing.status_code == 401 and missing.get_json()["message"] == "需要工作人员令牌"
    guesses = [
        client.open(path, method=method, json=body, headers={"Authorization": f"Bearer guess-{n}"})
        for n in range(auth.TOKEN_GUESSES + 1)
    ]
    assert [g.status_code for g in guesses] == [401] * auth.TOKEN_GUESSES + [429]
    right = {"Authorization": f"Bearer {SECRETS['admin_token']}"}
    assert client.open(path, method=method, json=body, headers=right).status_code == 429, "locked: not even tried"
    elsewhere = plain_app.test_client().open(
        path, method=method, json=body, headers=right, environ_base={"REMOTE_ADDR": "192.0.2.44"}
    )
    assert elsewhere.status_code not in (401, 429), "staff at another address are not locked out"


def test_a_forged_forwarded_for_header_does_not_escape_the_web_limit(make_app, one_window):
    """Behind one proxy the limit counts the address nginx saw, not what the client wrote before it."""
    client = make_app(proxy_hops=1).test_client()

    def attempt(n):
        forwarded = {"X-Forwarded-For": f"10.0.{n}.1, 192.0.2.9"}  # spoofed first hop, nginx's last
        return client.post("/api/v1/bookings", json={"channel": "web"}, headers=forwarded).status_code

    statuses = [attempt(n) for n in range(bookings_api.WEB_LIMIT + 2)]
    assert statuses[-2:] == [429, 429]
    direct = make_app().test_client()  # no proxy configured: the header is ignored altogether
    spoofed = [
        direct.post("/api/v1/bookings", json={"channel": "web"}, headers={"X-Forwarded-For": f"10.1.{n}.1"})
        for n in range(bookings_api.WEB_LIMIT + 2)
    ]
    assert spoofed[-1].status_code == 429


@pytest.mark.parametrize("path", ["/book", "/book/manage", "/admin/login", "/admin", "/book?office=<script>"])
def test_pages_send_security_headers(plain_app, path):
    response = plain_app.test_client().get(path)
    assert response.status_code < 500
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert b"<script>" not in response.data


def test_page_forms_posted_without_their_csrf_token_are_refused_in_chinese(plain_app):
    client = plain_app.test_client()
    posts = [r.rule for r in plain_app.url_map.iter_rules() if "POST" in r.methods and r.endpoint.startswith("pages.")]
    assert posts
    for path in posts:
        response = client.post(path, data={"office": "' OR 1=1 --", "code": "<script>"})
        assert response.status_code == 400, path
        assert "页面已过期" in response.get_data(as_text=True)


# --- property-based fuzzing ---------------------------------------------------------------------

_xml_text = st.text(max_size=200)
_message_fields = st.fixed_dictionaries(
    {
        "ToUserName": _xml_text,
        "FromUserName": _xml_text,
        "MsgType": st.sampled_from(["text", "event", "voice", "image", "location", "link", "video", ""]) | _xml_text,
        "Content": _xml_text,
        "Event": st.sampled_from(["subscribe", "unsubscribe", "CLICK", "SCAN", "VIEW", "LOCATION"]) | _xml_text,
        "EventKey": _xml_text,
        "Recognition": _xml_text,
        "CreateTime": st.integers(0, 2**32).map(str) | _xml_text,
        "MsgId": st.integers(0, 2**63).map(str) | _xml_text,
        "Location_X": st.floats().map(str) | _xml_text,
        "Location_Y": st.floats().map(str) | _xml_text,
    }
)


def _as_xml(fields: dict) -> bytes:
    return ("<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>").encode()


def _read(body: bytes) -> None:
    """The parser's whole job on a plain-mode body: a message, or a refusal with a 4xx."""
    config = Config()
    try:
        protocol.parse(protocol.open_body(config, protocol.Envelope(), body), config.tz)
    except protocol.Rejected as rejected:
        assert rejected.status == 400  # plain mode checks no signature here: only "bad input" is possible


@FUZZ
@given(st.binary(max_size=2_000))
def test_the_parser_turns_any_bytes_into_a_message_or_a_4xx(body):
    _read(body)


@FUZZ
@given(_message_fields)
def test_the_parser_reads_any_well_formed_message_or_refuses_it_with_a_4xx(fields):
    _read(_as_xml(fields))


_DATEISH = st.sampled_from(
    [
        "今天",
        "明天",
        "后天",
        "大后天",
        "下周三",
        "下下周日",
        "上周五",
        "这个星期六",
        "周末",
        "5月20日",
        "12.1",
        "2-29",
        "31号",
        "下个月15号",
        "520",
        "七夕",
        "情人节",
        "元旦",
        "圣诞节",
        "上午",
        "下午",
        "晚上",
        "三点半",
        "两点一刻",
        "14:30",
        "9点",
        "早一点",
        "十二月三十一日",
        "二月三十日",
        "13月1日",
    ]
)
_NOT_A_YEAR = st.text(st.characters(exclude_characters="0123456789〇零一二两三四五六七八九十年"), max_size=12)


@FUZZ
@given(st.lists(_DATEISH | _NOT_A_YEAR, max_size=6), st.dates(date(2021, 1, 1), date(2030, 12, 31)))
def test_dates_without_a_year_fall_within_a_few_weeks_back_and_a_year_ahead(pieces, today):
    now = datetime(today.year, today.month, today.day, 10, 0, tzinfo=TZ)
    when = dates.parse_when("，".join(pieces), now)
    if when.date is not None:
        assert today - timedelta(days=14) <= when.date <= today + timedelta(days=400)
    assert when.half in (None, calendar.MORNING, calendar.AFTERNOON)
    if when.time is not None:
        assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", when.time)


@FUZZ
@given(st.text(max_size=300), st.datetimes(datetime(2021, 1, 1), datetime(2030, 12, 31)))
def test_date_understanding_never_fails_on_any_text(text, moment):
    when = dates.parse_when(text, moment.replace(tzinfo=TZ))
    assert when.date is None or type(when.date) is date  # a calendar day, never a datetime or a string
    assert when.half in (None, dates.MORNING, dates.AFTERNOON)
    assert when.time is None or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", when.time)


_SAYINGS = st.sampled_from(
    [
        "预约",
        "结婚登记",
        "我的预约",
        "取消预约",
        "改约",
        "取消",
        "帮助",
        "更多",
        "1",
        "2",
        "3",
        "捐款",
        "口罩怎么戴",
        "发烧了怎么办",
        "明天上午芙蓉区",
        "下周三",
        "刘强",
        corpus.ID_NUMBERS[0],
        "是",
        "确认",
        "不",
    ]
)
_conversations = iter(range(10**9))


@settings(FUZZ, max_examples=100)
@given(st.lists(_SAYINGS | st.text(max_size=80), min_size=1, max_size=8))
def test_any_conversation_gets_a_chinese_reply_to_every_message(plain_app, sayings):
    chat = Chat(plain_app, f"o_fuzz_{next(_conversations)}")
    config = plain_app.config["TONGZHOU"]
    for saying in sayings:
        response = chat.post(simulate.text(chat.openid, saying))
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", saying):
            assert response.status_code == 400  # not legal in XML; WeChat never sends it
            continue
        assert response.status_code == 200
        reply = simulate.readable(response.get_data(as_text=True))
        assert _CJK.search(reply), reply
        assert len(reply.encode()) <= 2048
        assert leaks(reply, config) == []
        assert pipeline.APOLOGY not in reply, f"a handler crashed on {saying!r}"
