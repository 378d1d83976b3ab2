"""The JSON API the phone (staff) and web channels use: every answer and error shape README documents.

The API reads the real clock, so dates here are chosen from the real booking window.
"""

import itertools
from datetime import date, datetime, timedelta

import pytest
from flask import Flask

from bot.bookings import calendar, idcard, slots
from bot.bookings.slots import BookingRules
from bot.config import Config
from bot.web.api import bookings as bookings_api

STAFF = {"Authorization": "Bearer staff"}
_serial = itertools.count(1)


@pytest.fixture
def client(r, redis_url):
    app = Flask("t")
    app.config["TONGZHOU"] = Config(admin_token="staff", redis_url=redis_url)
    app.register_blueprint(bookings_api.blueprint)
    return app.test_client()


def open_day(skip: int = 0) -> date:
    """An ordinary open day (no holiday, no peak) inside the real booking window."""
    now = datetime.now(Config().tz)
    window = slots.window_days(now, BookingRules())
    return [d for d in window if not calendar.calendar_reason(d) and not calendar.peak_name(d)][skip]


def person(sex: str, birth: str = "19900101") -> dict:
    serial = next(_serial)
    first17 = f"4301{serial // 100 % 100:02d}{birth}{serial % 100:02d}{1 if sex == '男' else 2}"
    return {"name": "王芳" if sex == "女" else "刘强", "id_number": first17 + idcard.check_character(first17)}


def request_body(day=None, hhmm="09:00", channel="web", **overrides) -> dict:
    body = {
        "office_id": "changsha-furong",
        "date": (day or open_day()).isoformat(),
        "time": hhmm,
        "applicants": [person("男"), person("女")],
        "channel": channel,
    }
    return {**body, **overrides}


def test_offices_lists_every_office_with_its_place(client):
    offices = client.get("/api/v1/offices").get_json()
    furong = next(o for o in offices if o["id"] == "changsha-furong")
    assert furong["name"] == "长沙市芙蓉区婚姻登记处" and furong["city"] == "长沙市" and furong["district"] == "芙蓉区"
    assert furong["phone"] == "待核实"
    assert len({o["city"] for o in offices}) == 14


def test_availability_shows_remaining_places_and_why_a_day_is_closed(client):
    day = open_day()
    client.post("/api/v1/bookings", json=request_body(day))
    answer = client.get(f"/api/v1/offices/changsha-furong/availability?date={day}").get_json()
    assert answer["date"] == day.isoformat() and answer["open"] is True
    assert answer["slots"][0] == {"time": "09:00", "capacity": 3, "remaining": 2}
    closed = client.get(f"/api/v1/offices/changsha-furong/availability?date={date.today() - timedelta(days=1)}")
    assert closed.get_json() == {
        "date": (date.today() - timedelta(days=1)).isoformat(),
        "open": False,
        "reason": "这一天已经过去了",
        "slots": [],
    }
    assert client.get("/api/v1/offices/nowhere/availability?date=2026-01-05").status_code == 404
    assert client.get("/api/v1/offices/changsha-furong/availability?date=tomorrow").status_code == 400


def test_a_web_booking_is_confirmed_with_201(client):
    body = request_body()
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 201
    answer = response.get_json()
    assert set(answer) == {"code", "office_id", "date", "time", "status"}
    assert (answer["office_id"], answer["date"], answer["time"], answer["status"]) == (
        "changsha-furong", body["date"], "09:00", "confirmed",
    )  # fmt: skip


def test_a_full_slot_is_409_with_alternatives(client):
    day = open_day()
    for _ in range(3):
        filled = client.post("/api/v1/bookings", json=request_body(day, channel="phone"), headers=STAFF)
        assert filled.status_code == 201
    response = client.post("/api/v1/bookings", json=request_body(day))
    assert response.status_code == 409
    answer = response.get_json()
    assert answer["error"] == "slot_full"
    assert answer["alternatives"][0]["office_id"] == "changsha-furong"
    assert answer["alternatives"][0]["time"] == "09:30"


def test_a_person_already_booked_is_409(client):
    body = request_body()
    client.post("/api/v1/bookings", json=body)
    again = request_body(open_day(1), applicants=[person("男"), body["applicants"][1]])
    response = client.post("/api/v1/bookings", json=again)
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_booked"


def test_invalid_id_number_age_and_closed_day_are_422_with_fields(client):
    body = request_body()
    body["applicants"][0]["id_number"] = body["applicants"][0]["id_number"][:17] + "X"
    body["applicants"][1] = person("女", birth=f"{date.today().year - 19}0101")
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"applicants[0].id_number", "applicants[1].id_number"}
    assert "未满20周岁" in fields["applicants[1].id_number"]

    too_far = request_body(date.today() + timedelta(days=40))
    assert "date" in client.post("/api/v1/bookings", json=too_far).get_json()["fields"]
    missing = client.post("/api/v1/bookings", json={"channel": "web"}).get_json()
    assert set(missing["fields"]) == {"office_id", "date", "time", "applicants"}


def test_malformed_json_is_400_json_not_a_stack_trace(client):
    response = client.post("/api/v1/bookings", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed"
    assert client.post("/api/v1/bookings", json=[1, 2]).status_code == 400


def test_phone_booking_needs_the_staff_token(client):
    body = request_body(channel="phone", phone="0731-12345678")
    refused = client.post("/api/v1/bookings", json=body)
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert client.post("/api/v1/bookings", json=body, headers=STAFF).status_code == 201


def test_a_retried_post_with_the_same_idempotency_key_books_once(client):
    body = request_body()
    headers = {"Idempotency-Key": "7f1c2a"}
    first = client.post("/api/v1/bookings", json=body, headers=headers)
    retry = client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.get_json()["code"] == retry.get_json()["code"]
    availability = client.get(f"/api/v1/offices/changsha-furong/availability?date={body['date']}").get_json()
    assert availability["slots"][0]["remaining"] == 2


def test_the_same_idempotency_key_with_another_body_is_refused_not_answered_with_the_first_booking(client):
    headers = {"Idempotency-Key": "7f1c2a"}
    first = client.post("/api/v1/bookings", json=request_body(), headers=headers)
    other = client.post("/api/v1/bookings", json=request_body(time="10:00"), headers=headers)
    assert first.status_code == 201
    assert other.status_code == 422 and "idempotency_key" in other.get_json()["fields"]
    assert first.get_json()["code"] not in other.get_data(as_text=True)


def test_the_couple_reads_and_cancels_with_the_code_and_one_id_number_and_the_record_stays(client):
    body = request_body()
    code = client.post("/api/v1/bookings", json=body).get_json()["code"]
    own = {"id_number": body["applicants"][1]["id_number"]}
    booking = client.post(f"/api/v1/bookings/{code}/lookup", json=own).get_json()
    assert booking["status"] == "confirmed"
    assert booking["applicants"][0]["id_number"] == idcard.mask(body["applicants"][0]["id_number"])
    assert booking["applicants"][0]["name"] == "刘*"

    cancelled = client.post(f"/api/v1/bookings/{code}/cancel", json=own)
    assert cancelled.status_code == 200 and cancelled.get_json() == {"code": code, "status": "cancelled"}
    assert client.post(f"/api/v1/bookings/{code}/lookup", json=own).get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/bookings/{code}/cancel", json=own).status_code == 409
    assert client.post("/api/v1/bookings/ZZZZZZ/lookup", json=own).status_code == 404


def test_staff_read_any_booking_by_code_with_the_token(client):
    code = client.post("/api/v1/bookings", json=request_body()).get_json()["code"]
    assert client.get(f"/api/v1/bookings/{code}").status_code == 401
    assert client.get(f"/api/v1/bookings/{code}", headers=STAFF).get_json()["code"] == code
    assert client.get("/api/v1/bookings/ZZZZZZ", headers=STAFF).status_code == 404


def test_check_in_is_for_staff_and_explains_wrong_office_and_wrong_day(client):
    code = client.post("/api/v1/bookings", json=request_body()).get_json()["code"]
    url = f"/api/v1/bookings/{code}/checkin"
    assert client.post(url, json={"office_id": "changsha-furong"}).status_code == 401
    wrong = client.post(url, json={"office_id": "changsha-tianxin"}, headers=STAFF)
    assert wrong.status_code == 409 and wrong.get_json()["error"] == "wrong_office"
    not_today = client.post(url, json={"office_id": "changsha-furong"}, headers=STAFF)
    assert not_today.status_code == 409 and not_today.get_json()["error"] == "not_today"
    assert client.post(url, json={"office_id": "nowhere"}, headers=STAFF).status_code == 422


def test_web_requests_beyond_the_limit_get_429(client):
    for _ in range(bookings_api.WEB_LIMIT):
        assert client.post("/api/v1/bookings", json={"channel": "web"}).status_code == 422
    refused = client.post("/api/v1/bookings", json={"channel": "web"})
    assert refused.status_code == 429
    assert refused.get_json()["message"] == "请求过于频繁，请稍后再试"
    assert client.post("/api/v1/bookings", json=request_body(channel="phone"), headers=STAFF).status_code == 201
