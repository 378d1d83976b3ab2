"""The booking engine against real Redis: what couples and staff see when they book, cancel, move,
check in, miss a slot, wait for a place, or an office closes."""

import ast
import itertools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot import queue
from bot.bookings import closures, engine, idcard, reminders, wording
from bot.bookings.slots import BookingRules
from knowledge.offices import Office, Registry

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]
FURONG = Office("changsha-furong", "长沙市芙蓉区婚姻登记处", "长沙市", "芙蓉区", 28.19, 113.03, capacity=2)
TIANXIN = Office("changsha-tianxin", "长沙市天心区婚姻登记处", "长沙市", "天心区", 28.11, 112.99, capacity=2)
CHANGSHA = Registry([FURONG, TIANXIN])
MONDAY = date(2026, 3, 2)
TUESDAY, WEDNESDAY, THURSDAY = date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)
_serial = itertools.count(1)


def at(day: date, hhmm: str = "10:00") -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=TZ)


NOW = at(MONDAY)


def id_number(birth: str, sex: str) -> str:
    """A valid 18-digit number for someone born on `birth` (YYYYMMDD), unique per call."""
    serial = next(_serial)
    sequence = f"{serial % 100:02d}{1 if sex == '男' else 2}"
    first17 = f"4301{serial // 100 % 100:02d}{birth}{sequence}"
    return first17 + idcard.check_character(first17)


def couple(groom_birth: str = "19900101", bride_birth: str = "19920202") -> list[dict]:
    return [
        {"name": "张伟", "id_number": id_number(groom_birth, "男")},
        {"name": "李娜", "id_number": id_number(bride_birth, "女")},
    ]


def book(people=None, office=FURONG, day=TUESDAY, hhmm="09:00", now=NOW, **kwargs):
    return engine.book(office, day, hhmm, people or couple(), now=now, registry=CHANGSHA, **kwargs)


def test_a_couple_books_and_gets_a_short_unambiguous_code(r):
    people = couple()
    outcome = book(people, openid="o-1")
    assert outcome.kind == engine.CONFIRMED
    b = outcome.booking
    assert len(b.code) == 6 and not set(b.code) & set("0O1IL")
    assert (b.office_id, b.date, b.time, b.status) == ("changsha-furong", TUESDAY, "09:00", "confirmed")
    assert b.names == ("张*", "李*")
    assert b.id_numbers == tuple(idcard.mask(p["id_number"]) for p in people)
    assert [e.event for e in b.history] == ["created"]
    assert engine.active_for_openid("o-1") == [b]
    assert engine.matches_id(b.code, people[1]["id_number"]) == b


def test_neither_full_names_nor_id_numbers_are_stored_anywhere(r):
    people = couple()
    book(people)
    dump = " ".join(
        str(r.hgetall(k) if r.type(k) == "hash" else r.lrange(k, 0, -1) if r.type(k) == "list" else k)
        for k in r.keys("*")
    )
    for p in people:
        assert p["id_number"] not in dump and p["id_number"][6:14] not in dump
        assert p["name"] not in dump


def test_a_full_slot_offers_the_nearest_free_places_at_the_same_office_first(r):
    for _ in range(2):
        assert book(hhmm="10:00").kind == engine.CONFIRMED
    outcome = book(hhmm="10:00")
    assert outcome.kind == engine.SLOT_FULL
    assert "已约满" in outcome.message
    first = outcome.alternatives[0]
    assert (first.office_id, first.date) == ("changsha-furong", TUESDAY)
    assert first.time in ("09:30", "10:30")
    assert len(outcome.alternatives) == 5


def test_when_the_office_is_full_for_the_whole_window_the_same_city_is_offered(r):
    tiny = Office("changsha-furong", "长沙市芙蓉区婚姻登记处", "长沙市", "芙蓉区", 0, 0, (("09:00", "09:30"),), 30, 1)
    rules = BookingRules(window_days=2)  # Tuesday and Wednesday
    city = Registry([tiny, TIANXIN])
    for day in (TUESDAY, WEDNESDAY):
        assert engine.book(tiny, day, "09:00", couple(), now=NOW, rules=rules, registry=city).kind == "confirmed"
    outcome = engine.book(tiny, TUESDAY, "09:00", couple(), now=NOW, rules=rules, registry=city)
    assert outcome.kind == engine.SLOT_FULL
    assert {a.office_id for a in outcome.alternatives} == {"changsha-tianxin"}
    assert (outcome.alternatives[0].date, outcome.alternatives[0].time) == (TUESDAY, "09:00")


def test_a_person_has_one_active_booking_across_all_offices(r):
    people = couple()
    assert book(people).kind == engine.CONFIRMED
    other_partner = [couple()[0], people[1]]
    outcome = book(other_partner, office=TIANXIN, day=THURSDAY)
    assert outcome.kind == engine.ALREADY_BOOKED
    assert outcome.message.startswith("第二位申请人已有一个有效预约")


def test_wrong_check_digit_underage_and_same_person_are_refused_with_the_field(r):
    bad = couple()
    bad[1]["id_number"] = bad[1]["id_number"][:17] + ("0" if bad[1]["id_number"][17] != "0" else "1")
    outcome = book(bad)
    assert outcome.kind == engine.INVALID
    assert outcome.fields == {"applicants[1].id_number": "第二位申请人的身份证号校验位不对，请核对最后一位"}
    young = couple(groom_birth="20050101")
    assert "未满22周岁" in book(young).fields["applicants[0].id_number"]
    same = couple()
    assert book([same[0], same[0]]).kind == engine.INVALID
    assert r.keys("booking:*") == []


def test_holidays_and_days_outside_the_window_are_invalid_and_staff_closures_are_closed(r):
    assert book(day=date(2026, 3, 7)).fields == {"date": "周末"}
    assert "14天以内" in book(day=date(2026, 3, 20)).fields["date"]
    engine.close(WEDNESDAY, "疫情防控", now=NOW)
    closed = book(day=WEDNESDAY)
    assert closed.kind == engine.CLOSED
    assert closed.fields == {"date": "该日已暂停登记：疫情防控"}
    assert book(hhmm="12:00").fields["time"] == "长沙市芙蓉区婚姻登记处没有 12:00 这个时段"


def test_hundreds_of_parallel_bookings_fill_exactly_the_capacity(r):
    five = Office("changsha-furong", "长沙市芙蓉区婚姻登记处", "长沙市", "芙蓉区", 0, 0, capacity=5)
    couples = [couple() for _ in range(300)]
    city = Registry([five])

    def attempt(people):
        return engine.book(five, TUESDAY, "09:00", people, now=NOW, channel=engine.WEB, registry=city).kind

    with ThreadPoolExecutor(32) as pool:
        kinds = list(pool.map(attempt, couples))
    assert kinds.count(engine.CONFIRMED) == 5
    assert kinds.count(engine.SLOT_FULL) == 295
    assert r.hget("booking:taken:changsha-furong:2026-03-03", "09:00") == "5"
    assert len(engine.on_day("changsha-furong", TUESDAY)) == 5


def test_the_same_couple_trying_many_slots_at_once_gets_exactly_one(r):
    people = couple()
    times = ["09:00", "09:30", "10:00", "10:30", "11:00", "14:00", "14:30", "15:00", "15:30", "16:00"] * 10

    def attempt(hhmm):
        return book(people, hhmm=hhmm).kind

    with ThreadPoolExecutor(32) as pool:
        kinds = list(pool.map(attempt, times))
    assert kinds.count(engine.CONFIRMED) == 1
    assert kinds.count(engine.ALREADY_BOOKED) == 99


def test_a_retried_request_with_the_same_idempotency_key_returns_the_first_booking(r):
    people = couple()
    first = book(people, idempotency_key="api:abc")
    again = book(people, idempotency_key="api:abc")
    assert again.kind == engine.CONFIRMED and again.booking.code == first.booking.code
    assert r.hget("booking:taken:changsha-furong:2026-03-03", "09:00") == "1"


def test_an_idempotency_key_belongs_to_its_client_and_its_request(r):
    """Client B reusing client A's key must not get A's booking (it could then cancel it)."""
    people = couple()
    first = book(people, idempotency_key="api:abc", client="address:10.0.0.1")
    other_client = book(couple(), idempotency_key="api:abc", client="address:10.0.0.2")
    assert other_client.kind == engine.CONFIRMED and other_client.booking.code != first.booking.code
    changed = book(couple(), idempotency_key="api:abc", client="address:10.0.0.1")
    assert changed.kind == engine.IDEMPOTENCY_MISMATCH and changed.booking is None
    assert "idempotency_key" in changed.fields
    again = book(people, idempotency_key="api:abc", client="address:10.0.0.1")
    assert again.booking.code == first.booking.code
    assert "api:abc" not in " ".join(r.keys("booking:idem:*"))


def test_reschedule_moves_the_booking_and_keeps_its_code(r):
    b = book().booking
    moved = engine.reschedule(b.code, TIANXIN, THURSDAY, "14:00", now=NOW)
    assert moved.kind == engine.RESCHEDULED
    assert (moved.booking.code, moved.booking.office_id, moved.booking.date, moved.booking.time) == (
        b.code, "changsha-tianxin", THURSDAY, "14:00",
    )  # fmt: skip
    assert [e.event for e in moved.booking.history] == ["created", "rescheduled"]
    assert r.hget("booking:taken:changsha-furong:2026-03-03", "09:00") == "0"
    assert r.hget("booking:taken:changsha-tianxin:2026-03-05", "14:00") == "1"
    assert [x.code for x in engine.on_day("changsha-tianxin", THURSDAY)] == [b.code]
    assert engine.on_day("changsha-furong", TUESDAY) == []


def test_reschedule_to_a_full_slot_keeps_the_old_booking(r):
    b = book().booking
    for _ in range(2):
        book(day=THURSDAY, hhmm="15:00")
    outcome = engine.reschedule(b.code, FURONG, THURSDAY, "15:00", now=NOW, registry=CHANGSHA)
    assert outcome.kind == engine.SLOT_FULL and "原预约保持不变" in outcome.message
    kept = engine.get(b.code)
    assert (kept.status, kept.date, kept.time) == ("confirmed", TUESDAY, "09:00")
    assert r.hget("booking:taken:changsha-furong:2026-03-03", "09:00") == "1"
    assert r.hget("booking:taken:changsha-furong:2026-03-05", "15:00") == "2"


def test_cancelling_keeps_the_record_and_frees_the_place(r):
    people = couple()
    b = book(people, openid="o-1").booking
    outcome = engine.cancel(b.code.lower(), now=NOW, openid="o-1")
    assert outcome.kind == engine.CANCELLED
    assert outcome.booking.status == "cancelled"
    assert [e.event for e in outcome.booking.history] == ["created", "cancelled"]
    assert engine.active_for_openid("o-1") == []
    assert engine.cancel(b.code, now=NOW).kind == engine.NOT_ACTIVE
    assert book(people, day=THURSDAY).kind == engine.CONFIRMED  # free to book again


def test_someone_else_cannot_cancel_a_booking_by_chat(r):
    b = book(openid="o-1").booking
    assert engine.cancel(b.code, now=NOW, openid="o-2").kind == engine.NOT_FOUND


def test_citizens_cannot_cancel_within_two_hours_of_the_slot_but_staff_can(r):
    b = book(hhmm="09:00").booking
    late = at(TUESDAY, "07:30")
    outcome = engine.cancel(b.code, now=late)
    assert outcome.kind == engine.TOO_LATE
    assert outcome.message == "预约开始前2小时内不能在线取消或改约，请直接联系登记处"
    assert engine.cancel(b.code, now=late, by_staff=True).kind == engine.CANCELLED


def test_a_freed_place_goes_to_the_first_waiting_couple_who_is_told(r):
    for _ in range(2):
        book(hhmm="14:00")
    holder = book(hhmm="09:00", openid="o-morning").booking
    afternoon_only = couple()
    any_time = couple()
    assert engine.join_waitlist(FURONG, TUESDAY, afternoon_only, now=NOW, half="下午", openid="o-pm").position == 1
    assert engine.join_waitlist(FURONG, TUESDAY, any_time, now=NOW, openid="o-any").position == 2
    assert engine.join_waitlist(FURONG, TUESDAY, any_time, now=NOW).kind == engine.ALREADY_WAITING

    outcome = engine.cancel(holder.code, now=NOW)
    promoted = engine.get(outcome.promoted)
    assert (promoted.openid, promoted.time, promoted.status) == ("o-any", "09:00", "confirmed")
    notice = json.loads(r.lindex("notices:pending", -1))
    assert notice["kind"] == "waitlist_promoted" and notice["openid"] == "o-any"
    assert promoted.code in notice["text"] and "3月3日 09:00" in notice["text"]
    assert r.llen("booking:waitlist:changsha-furong:2026-03-03") == 1  # the afternoon couple still waits


def test_closing_an_office_cancels_its_bookings_keeps_them_and_queues_notices(r):
    kept_elsewhere = book(office=TIANXIN).booking
    cancelled = [book(openid=f"o-{i}", hhmm=hhmm).booking for i, hhmm in enumerate(("09:00", "15:00"))]
    engine.join_waitlist(FURONG, TUESDAY, couple(), now=NOW, openid="o-waiting")
    assert engine.close(TUESDAY, "出现确诊病例，场所消毒", now=NOW, office=FURONG) == (2, 1)
    for b in cancelled:
        after = engine.get(b.code)
        assert after.status == "cancelled_by_office"
        assert after.history[-1].event == "cancelled_by_office"
        assert after.history[-1].detail == "出现确诊病例，场所消毒"
    assert engine.get(kept_elsewhere.code).status == "confirmed"
    notices = [json.loads(raw) for raw in r.lrange("notices:pending", 0, -1)]
    assert sorted(n["kind"] for n in notices) == ["cancelled_by_office", "cancelled_by_office", "waitlist_closed"]
    assert "近期可预约的日期有3月4日、3月5日、3月6日" in notices[0]["text"]
    assert book(office=FURONG).kind == engine.CLOSED


def test_a_province_wide_closure_cancels_every_office(r):
    codes = [book(office=o).booking.code for o in (FURONG, TIANXIN)]
    assert engine.close(TUESDAY, "全省暂停婚姻登记", now=NOW) == (2, 0)
    assert {engine.get(c).status for c in codes} == {"cancelled_by_office"}


def test_check_in_on_the_day_at_the_right_office(r):
    b = book(hhmm="10:00").booking
    assert engine.check_in(b.code, "changsha-furong", now=at(TUESDAY, "09:50")).kind == engine.CHECKED_IN
    again = engine.check_in(b.code, "changsha-furong", now=at(TUESDAY, "09:55"))
    assert again.kind == engine.ALREADY_CHECKED_IN and "09:50" in again.message
    assert engine.get(b.code).status == "checked_in"


def test_check_in_explains_wrong_office_too_early_and_wrong_day(r):
    b = book(hhmm="10:00").booking
    wrong = engine.check_in(b.code, "changsha-tianxin", now=at(TUESDAY, "09:50"))
    assert wrong.kind == engine.WRONG_OFFICE and wrong.message == "这个预约在长沙市芙蓉区婚姻登记处，不是本登记处"
    early = engine.check_in(b.code, "changsha-furong", now=at(TUESDAY, "09:00"))
    assert early.kind == engine.TOO_EARLY and early.message == "还没到签到时间，请于 09:30 以后签到"
    day_before = engine.check_in(b.code, "changsha-furong", now=at(MONDAY, "10:00"))
    assert day_before.kind == engine.NOT_TODAY and "只能在预约当天签到" in day_before.message
    assert engine.check_in("ZZZZZZ", "changsha-furong", now=at(TUESDAY)).kind == engine.NOT_FOUND


def test_an_unchecked_booking_becomes_a_no_show_after_the_grace_period(r):
    b = book(hhmm="09:00").booking
    assert engine.mark_no_shows(at(TUESDAY, "09:29")) == (0, 0)
    assert engine.mark_no_shows(at(TUESDAY, "09:31")) == (1, 0)
    assert engine.get(b.code).status == "no_show"
    assert engine.get(b.code).history[-1].event == "no_show"


def test_three_no_shows_in_90_days_suspend_web_and_chat_booking_for_30_days(r):
    people = couple()
    now = NOW
    for _ in range(3):
        day = now.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        assert book(people, day=day, now=now).kind == engine.CONFIRMED
        now = at(day, "12:00")
        engine.mark_no_shows(now)
    next_day = date(2026, 3, 9)  # the Monday after
    refused = book(people, day=next_day, now=now, channel=engine.WEB)
    assert refused.kind == engine.SUSPENDED
    assert refused.until == now + timedelta(days=30)
    assert "近期有3次预约未到场" in refused.message
    assert book(people, day=next_day, now=now, channel=engine.PHONE).kind == engine.CONFIRMED


def test_personal_data_is_removed_after_the_retention_period(r):
    people = couple()
    b = book(people).booking
    assert engine.anonymise_expired(at(TUESDAY) + timedelta(days=29)) == 0
    assert engine.anonymise_expired(at(TUESDAY) + timedelta(days=31)) == 1
    after = engine.get(b.code)
    assert after.names == () and after.id_numbers == ()
    assert after.history[-1].event == "anonymised"
    assert "hash1" not in r.hgetall(f"booking:{b.code}")


def test_anonymising_also_forgets_the_wechat_account_and_the_no_show_record(r):
    people = couple()
    b = book(people, openid="o-forget-me").booking
    engine.mark_no_shows(at(TUESDAY, "12:00"))
    person_keys = [k for k in r.keys("booking:noshows:*")]
    assert len(person_keys) == 2
    assert engine.anonymise_expired(at(TUESDAY) + timedelta(days=31)) == 1
    stored = r.hgetall(f"booking:{b.code}")
    assert stored["openid"] == "" and stored["phone"] == "" and engine.get(b.code).openid == ""
    assert not any(r.exists(k) for k in person_keys)
    assert b.code not in r.smembers("booking:openid:o-forget-me")
    dump = " ".join(str(r.hgetall(k)) if r.type(k) == "hash" else k for k in r.keys("*"))
    assert "o-forget-me" not in dump


def test_anonymising_clears_what_staff_typed_when_cancelling(r):
    b = book().booking
    engine.cancel(b.code, now=NOW, by_staff=True, reason="张伟本人持证来电要求取消")
    engine.anonymise_expired(at(TUESDAY) + timedelta(days=31))
    history = engine.get(b.code).history
    assert [e.event for e in history] == ["created", "cancelled", "anonymised"]
    assert "张伟" not in json.dumps([e.detail for e in history], ensure_ascii=False)
    assert history[0].at == b.history[0].at


def test_no_shows_older_than_the_retention_no_longer_count(r):
    """Records naming a person live no longer than PII_RETENTION_DAYS, even with a longer lookback."""
    people, now = couple(), NOW
    for day in (date(2026, 3, 3), date(2026, 3, 4), date(2026, 4, 14)):  # the third 41 days after the second
        assert book(people, day=day, now=max(now, at(day - timedelta(days=1)))).kind == engine.CONFIRMED
        now = at(day, "12:00")
        engine.mark_no_shows(now)
    assert book(people, day=date(2026, 4, 15), now=now, channel=engine.WEB).kind == engine.CONFIRMED


def test_reminders_follow_the_booking_and_the_couple_promoted_from_the_waitlist(r):
    b = book(hhmm="09:00", openid="o-1").booking
    assert queue.scheduled(reminders.REMINDER, f"{b.code}:24h") is None  # booked less than 24 hours ahead
    assert queue.scheduled(reminders.REMINDER, f"{b.code}:2h") == at(TUESDAY, "07:00")
    engine.join_waitlist(FURONG, TUESDAY, couple(), now=NOW, half="上午", openid="o-2")
    promoted = engine.cancel(b.code, now=NOW).promoted
    assert queue.scheduled(reminders.REMINDER, f"{b.code}:2h") is None
    assert queue.scheduled(reminders.REMINDER, f"{promoted}:2h") == at(TUESDAY, "07:00")


def test_scanning_the_office_qr_code_checks_in_todays_booking(r):
    b = book(hhmm="10:00", openid="o-1").booking
    assert engine.check_in_for_openid("o-1", "changsha-furong", now=at(TUESDAY, "09:45")).booking.code == b.code
    assert engine.get(b.code).status == "checked_in"
    assert engine.check_in_for_openid("o-2", "changsha-furong", now=at(TUESDAY)).kind == engine.NOT_FOUND


def test_scanning_a_day_early_says_when_the_booking_is(r):
    book(hhmm="10:00", openid="o-1")
    outcome = engine.check_in_for_openid("o-1", "changsha-furong", now=at(MONDAY, "15:00"))
    assert outcome.kind == engine.NOT_TODAY
    assert outcome.message == "这个预约是3月3日的，还没到，只能在预约当天签到"


def test_staff_mark_a_couple_who_did_not_come_once_their_slot_has_started(r):
    people = couple()
    b = book(people, hhmm="09:00").booking
    early = engine.mark_no_show(b.code, now=at(TUESDAY, "08:59"))
    assert early.kind == engine.TOO_EARLY and early.message == "预约时段还没开始，09:00 以后才能记为未到场"

    marked = engine.mark_no_show(b.code.lower(), now=at(TUESDAY, "09:05"))

    assert marked.kind == engine.NO_SHOW and marked.message == "已记为未到场"
    assert marked.booking.status == "no_show"
    assert (marked.booking.history[-1].event, marked.booking.history[-1].detail) == ("no_show", "staff")
    assert book(people, day=WEDNESDAY).kind == engine.CONFIRMED  # free to book again
    assert engine.mark_no_show(b.code, now=at(TUESDAY, "09:06")).kind == engine.NOT_ACTIVE
    assert engine.mark_no_shows(at(TUESDAY, "12:00")) == (0, 0)  # the scheduler does not count it twice
    assert engine.mark_no_show("ZZZZZZ", now=at(TUESDAY)).kind == engine.NOT_FOUND


def test_a_checked_in_couple_cannot_be_marked_no_show(r):
    b = book(hhmm="09:00").booking
    engine.check_in(b.code, "changsha-furong", now=at(TUESDAY, "08:50"))
    refused = engine.mark_no_show(b.code, now=at(TUESDAY, "09:10"))
    assert refused.kind == engine.NOT_ACTIVE and "已签到" in refused.message


def test_without_staff_a_single_no_show_waits_for_the_check_in_grace_like_the_scheduler(r):
    b = book(hhmm="09:00").booking
    assert engine.mark_no_show(b.code, now=at(TUESDAY, "09:29"), by_staff=False).kind == engine.TOO_EARLY
    marked = engine.mark_no_show(b.code, now=at(TUESDAY, "09:31"), by_staff=False)
    assert marked.kind == engine.NO_SHOW and marked.booking.history[-1].detail == ""


def test_no_shows_marked_by_staff_count_towards_suspension_like_the_schedulers(r):
    people = couple()
    now = NOW
    for n in range(3):
        day = now.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        b = book(people, day=day, now=now).booking
        now = at(day, "12:00")
        if n == 1:
            engine.mark_no_shows(now)  # the scheduler found the second one
        else:
            last = engine.mark_no_show(b.code, now=now)
    assert last.message == "已记为未到场，2位申请人因多次未到场暂停微信和网上预约30天"
    refused = book(people, day=date(2026, 3, 9), now=now, channel=engine.WEB)
    assert (refused.kind, refused.until) == (engine.SUSPENDED, now + timedelta(days=30))


def test_a_booking_is_found_by_its_code_and_either_applicants_id_number_even_once_cancelled(r):
    people, stranger = couple(), couple()
    b = book(people).booking
    assert engine.matches_id(b.code, people[0]["id_number"]).code == b.code
    assert engine.matches_id(b.code.lower(), people[1]["id_number"].lower()).code == b.code  # x or X
    assert engine.matches_id(b.code, stranger[0]["id_number"]) is None
    assert engine.matches_id("ZZZZZZ", people[0]["id_number"]) is None

    engine.cancel(b.code, now=NOW)

    assert engine.matches_id(b.code, people[0]["id_number"]).status == "cancelled"
    engine.anonymise_expired(at(TUESDAY) + timedelta(days=31))
    assert engine.matches_id(b.code, people[0]["id_number"]) is None  # nobody's any more


def test_the_days_statuses_cover_every_office_and_leave_out_moved_bookings(r):
    kept = book(office=FURONG).booking
    moved = book(office=TIANXIN).booking
    engine.reschedule(moved.code, TIANXIN, WEDNESDAY, "09:00", now=NOW)
    engine.cancel(kept.code, now=NOW)
    assert engine.statuses_on(TUESDAY) == [("changsha-furong", "cancelled")]
    assert engine.statuses_on(WEDNESDAY) == [("changsha-tianxin", "confirmed")]


def test_every_status_a_couple_can_see_has_a_name_in_words():
    assert set(wording.STATUS_NAMES) == set(engine.STATUSES)


def test_the_scripts_spell_no_outcome_or_status_themselves_they_use_pythons_names():
    """Python's constants reach Lua as the table O; a literal in a script could drift from them."""
    scripts = " ".join(p.read_text(encoding="utf-8") for p in Path(engine.__file__).with_name("lua").glob("*.lua"))
    scripts = re.sub(r"key\('\w+'", "key(", scripts)  # key template names ('suspended') are not outcomes
    for name in engine.LUA_NAMES.values():
        assert f"'{name}'" not in scripts and f'"{name}"' not in scripts, name


def test_a_closure_known_in_advance_refuses_bookings_and_waitlists_without_any_staff_entry(r, monkeypatch):
    monkeypatch.setitem(closures.SEED_CLOSURES, (TUESDAY, FURONG.id), "场所消毒")
    assert book().kind == engine.CLOSED
    waiting = engine.join_waitlist(FURONG, TUESDAY, couple(), now=NOW)
    assert (waiting.kind, waiting.message) == (engine.CLOSED, "该日已暂停登记：场所消毒")
    assert book(office=TIANXIN).kind == engine.CONFIRMED


def test_what_to_bring_is_one_wording_in_every_channel_and_the_handbook(r):
    """《婚姻登记条例》第五条: 户口簿、身份证 for each party and three photos; the chat, the /book page, the
    phone confirmation, reminders, waitlist notices and the handbook all say the same string."""
    holder = book(openid="o-holder").booking
    engine.join_waitlist(FURONG, TUESDAY, couple(), now=NOW, openid="o-waiting")
    engine.cancel(holder.code, now=NOW)
    promoted_notice = json.loads(r.lindex("notices:pending", -1))["text"]
    assert wording.WHAT_TO_BRING in promoted_notice
    assert wording.WHAT_TO_BRING in reminders.text(holder, "24h")
    handbook = yaml.safe_load((ROOT / "knowledge" / "handbook.yaml").read_text(encoding="utf-8"))
    (materials,) = [e for e in handbook["entries"] if e["id"] == "marriage-materials"]
    assert wording.WHAT_TO_BRING in materials["answer"]


def test_no_channel_still_says_an_id_card_alone_is_enough():
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "bot").rglob("*.html"), *(ROOT / "handlers").rglob("*.py")]:
        assert "请双方携带本人身份证" not in path.read_text(encoding="utf-8"), path
    assert "婚姻登记照常办理" not in wording.CEREMONIES_SUSPENDED  # 2020-02-02: all registration was cancelled


def test_the_engine_says_nothing_in_its_own_words_every_text_is_in_wording():
    """So a couple reads one wording whichever channel answers; docstrings aside."""
    tree = ast.parse(Path(engine.__file__).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    chinese = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        if re.search(r"[\u4e00-\u9fff]", node.value)
    ]
    assert chinese == []
