"""Issue 14: no one gets in where they don't belong — booking ownership, limits on the web channel,
staff tokens and logins, WeChat's modes and replays, secrets at start-up, hostile input."""

import csv
import io

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
