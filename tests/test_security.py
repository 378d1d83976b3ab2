"""Issue 14: no one gets in where they don't belong — booking ownership, limits on the web channel,
staff tokens and logins, WeChat's modes and replays, secrets at start-up, hostile input."""

import csv
import io
from dataclasses import replace

import pytest

from bot import store
from bot.bookings import engine
from bot.web import auth
from bot.web.pages import staff
from tests.pages_support import FURONG, Clock, csrf_token, pages_app
from tests.test_api_bookings import STAFF, open_day, person, request_body


@pytest.fixture
def api(make_app):
    return make_app(admin_token="staff").test_client()


def book(api, address="198.51.100.1", **overrides):
    body = request_body(**overrides)
    response = api.post("/api/v1/bookings", json=body, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"], body


# --- 1. a booking code alone opens nothing -------------------------------------------------------


def test_a_booking_code_alone_neither_reads_nor_cancels_nor_moves_a_booking(api):
    code, body = book(api)
    assert api.get(f"/api/v1/bookings/{code}").status_code == 401
    assert api.post(f"/api/v1/bookings/{code}/lookup").status_code == 422
    assert api.post(f"/api/v1/bookings/{code}/cancel").status_code == 422
    stranger = {"id_number": person("女")["id_number"]}
    assert api.post(f"/api/v1/bookings/{code}/cancel", json=stranger).status_code == 404
    move = {"date": open_day(1).isoformat(), "time": "10:00"}
    assert api.post(f"/api/v1/bookings/{code}/reschedule", json={**move, **stranger}).status_code == 404
    assert engine.get(code).status == engine.CONFIRMED and engine.get(code).time == "09:00"


def test_the_couple_moves_their_booking_with_one_id_number_in_the_body(api):
    code, body = book(api)
    own = {"id_number": body["applicants"][0]["id_number"], "date": open_day(1).isoformat(), "time": "10:00"}
    moved = api.post(f"/api/v1/bookings/{code}/reschedule", json=own)
    assert moved.status_code == 200 and moved.get_json()["time"] == "10:00"
    assert engine.get(code).date == open_day(1)


def test_guessing_id_numbers_for_a_code_is_locked_out_per_client(api):
    code, body = book(api)
    address = {"REMOTE_ADDR": "203.0.113.9"}
    guesses = [
        api.post(f"/api/v1/bookings/{code}/lookup", json={"id_number": person("女")["id_number"]}, environ_base=address)
        for _ in range(auth.LOOKUP_FAILURES + 1)
    ]
    assert [g.status_code for g in guesses[:-1]] == [404] * auth.LOOKUP_FAILURES
    assert guesses[-1].status_code == 429 and "稍后再试" in guesses[-1].get_json()["message"]
    own = {"id_number": body["applicants"][0]["id_number"]}
    assert api.post(f"/api/v1/bookings/{code}/lookup", json=own, environ_base=address).status_code == 429
    assert api.post(f"/api/v1/bookings/{code}/lookup", json=own).status_code == 200, "the couple elsewhere"


def test_right_look_ups_give_their_count_back(api, monkeypatch):
    monkeypatch.setattr(auth, "LOOKUPS_PER_MINUTE", 100)
    code, body = book(api)
    own = {"id_number": body["applicants"][0]["id_number"]}
    wrong = {"id_number": person("女")["id_number"]}
    for _ in range(auth.LOOKUP_FAILURES - 1):
        assert api.post(f"/api/v1/bookings/{code}/lookup", json=wrong).status_code == 404
    for _ in range(3):
        assert api.post(f"/api/v1/bookings/{code}/lookup", json=own).status_code == 200
    assert api.post(f"/api/v1/bookings/{code}/lookup", json=wrong).status_code == 404, "still one failure left"
    assert api.post(f"/api/v1/bookings/{code}/lookup", json=own).status_code == 429


# --- 3. filling slots or blocking a person with made-up ID numbers --------------------------------


def test_one_address_makes_a_few_web_bookings_a_day_then_429(make_app):
    api = make_app(admin_token="staff", web_bookings_per_client_day=2).test_client()
    day = open_day()
    for hhmm in ("09:00", "09:30"):
        book(api, address="198.51.100.7", day=day, hhmm=hhmm)
    third = api.post("/api/v1/bookings", json=request_body(day, "10:00"), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert third.status_code == 429 and "今天" in third.get_json()["message"]
    book(api, address="198.51.100.8", day=day, hhmm="10:00")  # another address is not limited


def test_a_refused_web_booking_does_not_use_up_the_days_allowance(make_app):
    api = make_app(admin_token="staff", web_bookings_per_client_day=1).test_client()
    taken, _ = book(api, address="198.51.100.20")
    refused = api.post(
        "/api/v1/bookings",
        json=request_body(applicants=[person("男"), {"name": "王芳", "id_number": "430101199001011230"}]),
        environ_base={"REMOTE_ADDR": "198.51.100.21"},
    )
    assert refused.status_code == 422
    book(api, address="198.51.100.21", hhmm="10:00")


def test_a_form_sent_twice_counts_once_against_the_days_allowance(make_app):
    api = make_app(admin_token="staff", web_bookings_per_client_day=2).test_client()
    day, address = open_day(), {"REMOTE_ADDR": "198.51.100.22"}
    body, again = request_body(day, "09:00"), {"Idempotency-Key": "double-click"}
    first = api.post("/api/v1/bookings", json=body, headers=again, environ_base=address)
    second = api.post("/api/v1/bookings", json=body, headers=again, environ_base=address)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["code"] == second.get_json()["code"]
    book(api, address="198.51.100.22", day=day, hhmm="09:30")  # the second of two, not the third


def test_the_web_channel_holds_at_most_its_share_of_an_office_day(make_app):
    api = make_app(admin_token="staff", web_office_day_share_percent=5).test_client()
    day = open_day()
    places = 3 * 12  # changsha-furong: 12 half-hour slots of 3 couples
    allowed = -(-places * 5 // 100)
    for n in range(allowed):
        book(api, address=f"198.51.100.{30 + n}", day=day, hhmm="09:00" if n < 3 else "09:30")
    over = api.post("/api/v1/bookings", json=request_body(day, "14:00"), environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert over.status_code == 409 and over.get_json()["error"] == "web_share_full"
    phone = api.post("/api/v1/bookings", json=request_body(day, "14:00", channel="phone"), headers=STAFF)
    assert phone.status_code == 201, "the office's own channels still book"


def test_staff_find_a_booking_by_the_id_number_at_the_counter_and_cancel_it_with_a_reason(api):
    code, body = book(api)
    victim = body["applicants"][1]["id_number"]
    assert api.post("/api/v1/bookings/search", json={"id_number": victim}).status_code == 401
    found = api.post("/api/v1/bookings/search", json={"id_number": victim}, headers=STAFF).get_json()
    assert [b["code"] for b in found["bookings"]] == [code]
    cancelled = api.post(f"/api/v1/bookings/{code}/cancel", json={"reason": "身份证号被冒用"}, headers=STAFF)
    assert cancelled.status_code == 200
    history = api.get(f"/api/v1/bookings/{code}", headers=STAFF).get_json()["history"]
    assert history[-1]["event"] == "cancelled" and "身份证号被冒用" in history[-1]["detail"]
    assert api.post("/api/v1/bookings/search", json={"id_number": victim}, headers=STAFF).get_json() == {"bookings": []}
    own = request_body(applicants=[person("男"), body["applicants"][1]])
    assert api.post("/api/v1/bookings", json=own).status_code == 201, "the victim can book again"


def test_a_real_name_check_in_the_hook_refuses_an_unverified_web_booking(api, monkeypatch):
    monkeypatch.setattr(auth, "REAL_NAME_CHECKS", [lambda people: "未通过实名认证"])
    refused = api.post("/api/v1/bookings", json=request_body())
    assert refused.status_code == 403 and refused.get_json() == {"error": "not_verified", "message": "未通过实名认证"}


@pytest.fixture
def pages(make_app):
    return pages_app(make_app, Clock()).test_client()


def _web_booking_now(pages):
    """A couple booked through the API of the same app, inside the pages' fixed week."""
    from tests.pages_support import book_couple
    from tests.test_pages import TUESDAY

    return book_couple(TUESDAY, "09:00")


def test_the_person_whose_id_was_used_releases_the_booking_on_book_with_both_id_numbers(pages):
    from tests.test_applicants import make_id

    booking = _web_booking_now(pages)
    his, hers = make_id("19900101", "男", serial="20"), make_id("19920202", "女", serial="20")
    token = csrf_token(pages, "/book/release")
    one_only = pages.post("/book/release", data={"csrf_token": token, "id_number_1": hers, "id_number_2": hers})
    assert one_only.status_code == 404 and engine.get(booking.code).active
    released = pages.post("/book/release", data={"csrf_token": token, "id_number_1": hers, "id_number_2": his})
    assert released.status_code == 200 and "已取消" in released.get_data(as_text=True)
    assert engine.get(booking.code).status == engine.CANCELLED


def test_staff_cancel_at_the_counter_from_the_console_with_a_reason(make_app):
    from tests.test_applicants import make_id
    from tests.test_pages import log_in

    client = pages_app(make_app, Clock()).test_client()
    booking = _web_booking_now(client)
    log_in(client)
    token = csrf_token(client, "/admin/lookup")
    found = client.post(
        "/admin/lookup", data={"csrf_token": token, "id_number": make_id("19920202", "女", serial="20")}
    )
    assert found.status_code == 200 and booking.code in found.get_data(as_text=True)
    no_reason = client.post("/admin/cancel", data={"csrf_token": token, "code": booking.code, "reason": " "})
    assert no_reason.status_code == 302 and engine.get(booking.code).active
    client.post("/admin/cancel", data={"csrf_token": token, "code": booking.code, "reason": "本人持证，非本人预约"})
    after = engine.get(booking.code)
    assert after.status == engine.CANCELLED and "本人持证" in after.history[-1].detail


# --- 6, 7. staff tokens and logins ----------------------------------------------------------------


def test_wrong_tokens_on_the_phone_booking_path_are_counted_like_every_staff_check(api):
    body = request_body(channel="phone", phone="0731-12345678")
    answers = [
        api.post("/api/v1/bookings", json=body, headers={"Authorization": f"Bearer guess-{n}"}).status_code
        for n in range(auth.TOKEN_GUESSES + 1)
    ]
    assert answers == [401] * auth.TOKEN_GUESSES + [429]


def test_one_address_guessing_cannot_lock_a_colleague_out_from_another(make_app):
    app = pages_app(make_app, Clock())
    staff.add("liwei", "correct horse", staff.STAFF)
    attacker = app.test_client()
    token = csrf_token(attacker, "/admin/login")
    for n in range(staff.MAX_FAILURES + 3):
        attacker.post(
            "/admin/login",
            data={"username": "liwei", "password": f"guess{n}", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "203.0.113.66"},
        )
    colleague = app.test_client()
    token = csrf_token(colleague, "/admin/login")
    right = {"username": "liwei", "password": "correct horse", "csrf_token": token}
    answer = colleague.post("/admin/login", data=right)
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin"


def test_parallel_password_guesses_are_counted_before_they_are_checked(make_app):
    from concurrent.futures import ThreadPoolExecutor

    staff.add("liwei", "correct horse", staff.STAFF)
    make_app()  # the store is connected

    def guess(n):
        try:
            return staff.authenticate("liwei", f"guess{n}", "203.0.113.77")
        except staff.Locked:
            return "locked"

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(60)))
    assert answers.count(None) <= staff.MAX_FAILURES - 1
    assert answers.count("locked") >= 60 - staff.MAX_FAILURES


def test_logging_out_ends_the_session_even_for_a_copied_cookie(make_app):
    from tests.test_pages import log_in

    app = pages_app(make_app, Clock())
    client = app.test_client()
    log_in(client)
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/admin").status_code == 200, "the copy works while the session is open"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin")})
    assert thief.get("/admin").status_code == 302


def test_the_session_cookie_is_secure_over_tls_and_staff_pages_are_not_cached(make_app):
    client = pages_app(make_app, Clock()).test_client()
    page = client.get("/admin/login", base_url="https://tongzhou.example")
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/book/manage").headers["Cache-Control"] == "no-store"


# --- 14. CSV export ---------------------------------------------------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(make_app):
    from tests.test_pages import log_in

    client = pages_app(make_app, Clock()).test_client()
    booking = _web_booking_now(client)
    store.client().hset(engine.KEYS["booking"] % booking.code, "phone", "+8613800001234")
    log_in(client)
    rows = list(csv.reader(io.StringIO(client.get(f"/admin/export.csv?office={FURONG}&date=2026-11-24").text)))
    assert rows[1][-1].startswith("'+")
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- 2, 12. WeChat's modes, replays, and the bare "success" -----------------------------------------

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_with_encryption_on_a_plaintext_post_signed_by_a_copied_url_signature_is_refused(make_app, mode):
    from bot.wechat import simulate
    from tests.chat import Chat

    app = make_app(wechat_aes_key=AES_KEY, wechat_appid=APPID, wechat_mode=mode)
    victim = Chat(app, "o_victim")
    assert "预约" in victim.say("帮助")
    plain_config = replace(app.config["TONGZHOU"], wechat_aes_key="", wechat_mode="plain")
    query, body = simulate.signed(plain_config, simulate.text("o_victim", "取消预约"))
    assert app.test_client().post(f"/wechat?{query}", data=body).status_code == 403
    aes_claimed = app.test_client().post(f"/wechat?{query}&encrypt_type=aes", data=body)
    assert aes_claimed.status_code == 403


def test_the_mode_defaults_from_the_key_and_encryption_needs_one():
    from bot.config import Config, ConfigError

    assert Config().mode == "plain"
    assert Config(wechat_aes_key=AES_KEY, wechat_appid=APPID).mode == "safe"
    dev = {"TONGZHOU_ENV": "development"}
    explicit = {**dev, "WECHAT_MODE": "plain", "WECHAT_AES_KEY": AES_KEY, "WECHAT_APPID": APPID}
    assert Config.from_env(explicit).mode == "plain"
    with pytest.raises(ConfigError, match="WECHAT_MODE=compatible needs WECHAT_AES_KEY"):
        Config.from_env({**dev, "WECHAT_MODE": "compatible"})
    with pytest.raises(ConfigError, match="WECHAT_MODE must be"):
        Config.from_env({**dev, "WECHAT_MODE": "secure"})


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_timestamp_and_nonce_carry_one_message_but_a_retry_of_it_gets_the_same_reply(make_app, encrypted):
    from bot.wechat import simulate

    keys = {"wechat_aes_key": AES_KEY, "wechat_appid": APPID} if encrypted else {}
    app = make_app(**keys)
    config = app.config["TONGZHOU"]
    client = app.test_client()
    query, body = simulate.signed(config, simulate.text("o_first", "帮助", msg_id=77), nonce="4242")
    first = client.post(f"/wechat?{query}", data=body)
    retry = client.post(f"/wechat?{query}", data=body)
    assert first.status_code == retry.status_code == 200
    assert simulate.open_reply(config, first.text) == simulate.open_reply(config, retry.text)  # fresh IV each time
    timestamp = query.split("timestamp=")[1].split("&")[0]
    _, other = simulate.signed(config, simulate.text("o_other", "取消预约", msg_id=78), int(timestamp), "4242")
    assert client.post(f"/wechat?{query}", data=other).status_code == 403


def test_in_safe_mode_no_reply_is_a_plain_success(make_app):
    from bot.wechat import simulate

    app = make_app(wechat_aes_key=AES_KEY, wechat_appid=APPID)
    query, body = simulate.signed(app.config["TONGZHOU"], simulate.event("o_viewer", "VIEW", "https://example.org"))
    response = app.test_client().post(f"/wechat?{query}", data=body)
    assert response.status_code == 200 and response.data == b"success"


# --- 4. unsafe defaults don't start outside development ---------------------------------------------

PRODUCTION = {
    "TONGZHOU_ENV": "production",
    "WECHAT_TOKEN": "a-token-set-in-the-official-account",
    "PII_KEY": "p" * 64,
    "SECRET_KEY": "s" * 64,
    "LOG_SALT": "l" * 32,
    "ADMIN_TOKEN": "t" * 32,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_a_production_environment_with_every_secret_is_accepted():
    from bot.config import Config

    assert Config.from_env(PRODUCTION).environment == "production"
    sentinels = {**PRODUCTION, "REDIS_URL": "", "REDIS_SENTINELS": "127.0.0.1:26379", "REDIS_SENTINEL_MASTER": "m"}
    assert Config.from_env(sentinels).redis_configured


@pytest.mark.parametrize(
    "change,named",
    [
        ({"WECHAT_TOKEN": ""}, "WECHAT_TOKEN"),
        ({"WECHAT_TOKEN": "tongzhou-dev-token"}, "WECHAT_TOKEN"),
        ({"PII_KEY": ""}, "PII_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"LOG_SALT": ""}, "LOG_SALT"),
        ({"ADMIN_TOKEN": "1234"}, "ADMIN_TOKEN"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"TONGZHOU_ENV": ""}, None),  # unset is production too
    ],
)
def test_outside_development_each_unsafe_setting_stops_start_up_naming_it(change, named):
    from bot.config import Config, ConfigError

    env = {**PRODUCTION, **change}
    if named is None:
        env["PII_KEY"] = ""
        named = "PII_KEY"
    with pytest.raises(ConfigError) as refused:
        Config.from_env(env)
    lines = str(refused.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(named)


def test_the_server_refuses_to_start_with_one_line_per_missing_secret():
    import os
    import subprocess
    import sys
    from pathlib import Path

    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env = {**keep, "TONGZHOU_ENV": "production", "ADMIN_TOKEN": "1234"}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    named = [line.split(": ")[1].split(" ")[0] for line in done.stderr.strip().splitlines()]
    assert named == ["WECHAT_TOKEN", "PII_KEY", "SECRET_KEY", "LOG_SALT", "ADMIN_TOKEN", "REDIS_URL"]


def test_a_short_admin_token_in_development_makes_no_first_admin_and_login_answers_401(make_app):
    from tests.test_pages import log_in

    client = pages_app(make_app, Clock(), admin_token="1234").test_client()
    answer = log_in(client, "admin", "1234")
    assert answer.status_code == 401


# --- 11, 13. huge texts; the proxy's forwarded address ------------------------------------------------


@pytest.mark.parametrize("text", ["1" * 20_000, "预约" * 10_000, "口罩" * 10_000])
def test_a_huge_text_gets_a_polite_chinese_reply_not_an_apology(make_app, text, monkeypatch):
    from bot.chat import pipeline, router
    from tests.chat import Chat

    seen = []
    real_route = router.route
    monkeypatch.setattr(router, "route", lambda m, s: seen.append(len(m.text)) or real_route(m, s))
    reply = Chat(make_app(), "o_long_text").say(text)
    assert reply and reply != pipeline.APOLOGY
    assert seen == [pipeline.MAX_TEXT_CHARS], "handlers analyse a capped text"


def test_behind_a_proxy_start_up_says_to_bind_to_loopback(make_app, caplog):
    with caplog.at_level("WARNING"):
        make_app(proxy_hops=1)
    assert any("PROXY_HOPS=1" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)
