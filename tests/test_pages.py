"""The pages without a browser: security, accounts, field errors, the simulator's true path, CSV."""

import csv
import io
import json
import re
from datetime import date, datetime

import pytest

from bot.bookings import closures, engine, summaries
from bot.web.pages import staff
from handlers import booking_text
from knowledge import offices
from tests.chat import Chat
from tests.pages_support import FURONG, TZ, Clock, book_couple, csrf_token, pages_app
from tests.test_applicants import make_id

TUESDAY = date(2026, 11, 24)
HIM = make_id("19950615", "男")
HER = make_id("19970320", "女")
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(make_app, clock):
    return pages_app(make_app, clock)


@pytest.fixture
def client(app):
    return app.test_client()


def log_in(client, username="admin", password="staff-secret"):
    token = csrf_token(client, "/admin/login")
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.mark.parametrize("path", ["/book", "/book/manage", "/admin/login", "/simulator"])
def test_every_page_forbids_framing_sniffing_and_foreign_scripts(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_simulator_is_not_there_unless_enabled(make_app, clock):
    client = pages_app(make_app, clock, simulator_enabled=False).test_client()
    assert client.get("/simulator").status_code == 404
    token = csrf_token(client, "/book/manage")
    message = {"kind": "text", "value": "你好"}
    assert client.post("/simulator/send", json=message, headers={"X-CSRF-Token": token}).status_code == 404


def test_a_form_posted_without_its_token_is_refused(client):
    response = client.post("/book", data={"office": FURONG, "date": "2026-11-24", "time": "09:00"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)


def test_a_wrong_check_digit_is_shown_next_to_the_second_applicants_id_number(client, r):
    token = csrf_token(client, f"/book?office={FURONG}&date=2026-11-24")
    wrong = HER[:17] + ("0" if HER[17] != "0" else "1")
    form = {
        "csrf_token": token,
        "office": FURONG,
        "date": "2026-11-24",
        "time": "09:00",
        "applicants[0].name": "张三",
        "applicants[0].id_number": HIM,
        "applicants[1].name": "李四",
        "applicants[1].id_number": wrong,
    }
    page = client.post("/book", data=form).get_data(as_text=True)
    assert 'data-error-for="applicants[1].id_number">第二位申请人的身份证号校验位不对' in page
    assert 'data-error-for="applicants[0]' not in page
    assert not r.keys("booking:*")


def test_the_same_form_submitted_twice_books_once(client, r):
    token = csrf_token(client, f"/book?office={FURONG}&date=2026-11-24")
    form = {
        "csrf_token": token,
        "attempt": "one-form",
        "office": FURONG,
        "date": "2026-11-24",
        "time": "09:00",
        "applicants[0].name": "张三",
        "applicants[0].id_number": HIM,
        "applicants[1].name": "李四",
        "applicants[1].id_number": HER,
    }
    assert client.post("/book", data=form).status_code == 302
    assert client.post("/book", data=form).status_code == 302
    assert len(engine.on_day(FURONG, TUESDAY)) == 1


def test_five_wrong_passwords_lock_that_address_out_even_against_the_right_one(client, r):
    staff.add("liwei", "correct horse", staff.STAFF)
    for _ in range(staff.MAX_FAILURES - 1):
        assert "用户名或密码不对" in log_in(client, "liwei", "wrong").get_data(as_text=True)
    assert "已暂停登录，请15分钟后再试" in log_in(client, "liwei", "wrong").get_data(as_text=True)
    response = log_in(client, "liwei", "correct horse")
    assert response.status_code == 429
    assert client.get("/admin").status_code == 302  # still sent to the login page


def test_passwords_are_stored_hashed(r):
    staff.add("liwei", "correct horse")
    stored = r.hgetall(staff.ACCOUNT_KEY % "liwei")
    assert "correct horse" not in json.dumps(stored)
    assert stored["password_hash"].startswith(("scrypt:", "pbkdf2:"))


def test_the_first_admin_logs_in_with_the_admin_token(client, r):
    assert log_in(client).headers["Location"] == "/admin"
    assert "日视图" in client.get("/admin").get_data(as_text=True)


def test_office_staff_cannot_close_dates(client, r):
    staff.add("liwei", "correct horse", staff.STAFF)
    log_in(client, "liwei", "correct horse")
    assert client.get("/admin/calendar").status_code == 403


def test_the_csv_shows_only_masked_id_numbers(client, r):
    booking = book_couple(TUESDAY, "09:00")
    log_in(client)
    response = client.get(f"/admin/export.csv?office={FURONG}&date=2026-11-24")
    assert response.headers["Content-Disposition"] == f"attachment; filename=bookings-{FURONG}-2026-11-24.csv"
    header, row = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert header[:3] == ["确认码", "日期", "时段"]
    assert row[0] == booking.code and row[5] == "王*" and row[9] == "138****1234"
    assert row[6] == "**************" + make_id("19900101", "男", serial="20")[-4:]


def test_epidemic_mode_can_be_switched_off_by_an_admin(client, r):
    log_in(client)
    token = csrf_token(client, "/admin/calendar")
    client.post("/admin/calendar/epidemic", data={"on": "0", "csrf_token": token})
    assert '疫情防控模式 <span class="tag">关闭' in client.get("/admin/calendar").get_data(as_text=True)
    assert "颁证仪式暂停" not in client.get("/book").get_data(as_text=True)


@pytest.mark.parametrize("aes_key", ["", AES_KEY], ids=["plain", "safe-mode"])
def test_the_simulator_answers_through_the_signed_webhook(make_app, clock, r, aes_key):
    app = pages_app(make_app, clock, wechat_aes_key=aes_key, wechat_appid="wx_test" if aes_key else "")
    client = app.test_client()
    token = csrf_token(client, "/simulator")
    response = client.post("/simulator/send", json={"kind": "text", "value": "帮助"}, headers={"X-CSRF-Token": token})
    reply = response.get_json()["reply"]
    assert reply["type"] == "text" and "预约结婚登记" in reply["content"]


def test_the_simulator_refuses_a_button_that_is_not_on_the_menu(client):
    token = csrf_token(client, "/simulator")
    response = client.post("/simulator/send", json={"kind": "click", "value": "drop"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 400


def test_staff_mark_a_couple_who_did_not_come_from_the_day_view(client, clock, r):
    came, missed = book_couple(TUESDAY, "09:00", serial=21), book_couple(TUESDAY, "09:30", serial=22)
    clock.at = datetime(2026, 11, 24, 9, 40, tzinfo=TZ)
    log_in(client)
    day_view = client.get(f"/admin?office={FURONG}&date=2026-11-24").get_data(as_text=True)
    assert day_view.count(">未到场</button>") == 2
    token = csrf_token(client, "/admin")

    response = client.post(
        "/admin/no-show", data={"code": missed.code, "office": FURONG, "date": "2026-11-24", "csrf_token": token}
    )

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{missed.code} 09:30 王*、赵*：已记为未到场" in page
    assert engine.get(missed.code).status == engine.NO_SHOW
    assert engine.get(came.code).status == engine.CONFIRMED
    assert page.count(">未到场</button>") == 1


def test_a_couple_cannot_be_marked_no_show_before_their_slot(client, r):
    booking = book_couple(TUESDAY, "09:00")
    log_in(client)
    token = csrf_token(client, "/admin")
    response = client.post(
        "/admin/no-show", data={"code": booking.code, "office": FURONG, "date": "2026-11-24", "csrf_token": token}
    )
    assert "预约时段还没开始" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert engine.get(booking.code).status == engine.CONFIRMED


def test_staff_read_the_schedulers_daily_summary(client, r):
    book_couple(TUESDAY, "09:00")
    summaries.write(date(2026, 11, 23))
    log_in(client)
    page = client.get("/admin/summaries?date=2026-11-23").get_data(as_text=True)
    assert "长沙市芙蓉区婚姻登记处" in page and "明日预约" in page and "<td>1</td>" in page
    empty = client.get("/admin/summaries?date=2026-11-22").get_data(as_text=True)
    assert "调度程序还没有生成这一天的汇总" in empty


def test_a_couple_looking_up_a_cancelled_booking_sees_it_was_cancelled(client, r):
    booking = book_couple(TUESDAY, "09:00")
    engine.cancel(booking.code, now=datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    token = csrf_token(client, "/book/manage")
    form = {"code": booking.code.lower(), "id_number": make_id("19920202", "女", serial="20"), "csrf_token": token}

    page = client.post("/book/manage", data=form).get_data(as_text=True)

    assert booking.code in page and "已取消" in page
    assert "取消这个预约" not in page


def test_when_an_admin_switches_epidemic_mode_off_the_chat_stops_saying_ceremonies_are_suspended(app, client, r):
    citizen = Chat(app, "o_ceremony")
    assert "颁证仪式暂停" in citizen.say("颁证仪式还办吗")
    log_in(client)

    client.post("/admin/calendar/epidemic", data={"on": "0", "csrf_token": csrf_token(client, "/admin/calendar")})

    assert citizen.say("颁证仪式还办吗") == booking_text.CEREMONY_HELD


def test_choosing_an_office_on_the_web_says_whose_registrations_it_takes(client, r):
    page = client.get("/book?office=changsha-furong").get_data(as_text=True)
    assert "本处受理一方户口在芙蓉区的登记，请确认你们有一方的常住户口在芙蓉区。" in page


def test_an_admin_enters_the_state_councils_holiday_announcement_for_a_year(client, r):
    log_in(client)
    token = csrf_token(client, "/admin/calendar")
    days = "2027-02-05 春节\n2027-02-20 上班\n"
    response = client.post("/admin/calendar/official-days", data={"year": "2027", "days": days, "csrf_token": token})
    assert response.status_code == 302
    assert "已保存2027年的放假安排：放假1天、调休上班1天" in client.get("/admin/calendar").get_data(as_text=True)
    assert closures.official_days(2027) == {date(2027, 2, 5): "春节", date(2027, 2, 20): closures.WORKING_DAY}
    wrong = client.post("/admin/calendar/official-days", data={"year": "2027", "days": "2月5日", "csrf_token": token})
    assert wrong.status_code == 422 and "第1行应为" in wrong.get_data(as_text=True)


# ---- the day view's defaults ---------------------------------------------------------------------

DAY_SHOWN = re.compile(r'id="date" name="date" type="date" value="([\d-]+)"')
PHONE_DATE = re.compile(r'id="booking_date" name="booking_date" type="date" value="([\d-]+)"')


def staff_day_view(make_app, at: datetime) -> str:
    client = pages_app(make_app, Clock(at)).test_client()
    log_in(client)
    return client.get(f"/admin?office={FURONG}").get_data(as_text=True)


def test_on_a_working_day_staff_see_today_and_phone_bookings_start_tomorrow(make_app):
    page = staff_day_view(make_app, datetime(2026, 11, 23, 9, 0, tzinfo=TZ))  # a Monday
    assert DAY_SHOWN.search(page).group(1) == "2026-11-23"
    assert PHONE_DATE.search(page).group(1) == "2026-11-24"


def test_on_a_weekend_the_day_view_opens_on_monday_and_phone_bookings_skip_the_weekend(make_app):
    page = staff_day_view(make_app, datetime(2026, 11, 28, 10, 0, tzinfo=TZ))  # a Saturday
    assert DAY_SHOWN.search(page).group(1) == "2026-11-30"
    assert PHONE_DATE.search(page).group(1) == "2026-11-30"


def test_the_first_phone_booking_day_skips_a_closure_of_the_office(make_app):
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    page = staff_day_view(make_app, monday)  # the app first, so the store is connected
    engine.close(date(2026, 11, 24), "疫情防控", now=monday, office=offices.current().get(FURONG))
    page = staff_day_view(make_app, monday)
    assert PHONE_DATE.search(page).group(1) == "2026-11-25"
