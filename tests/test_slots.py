"""Which days and times a couple can book, and why not: the rules in bot/bookings/slots.py and staff overrides."""

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.bookings import calendar, closures, engine, slots
from bot.bookings.slots import BookingRules
from bot.config import Config, ConfigError
from knowledge.offices import Office

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]
RULES = BookingRules()
FURONG = Office("changsha-furong", "长沙市芙蓉区婚姻登记处", "长沙市", "芙蓉区", 28.19, 113.03, capacity=3)


def at(day: date, hhmm: str = "10:00") -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=TZ)


def adjusted_saturday_2026() -> date:
    """A Saturday that is a working day in 2026 (调休), straight from chinese_calendar."""
    workdays = chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31), include_weekends=True)
    return next(d for d in workdays if d.weekday() == 5)


def test_slots_are_half_hours_from_nine_to_half_past_eleven_and_two_to_five():
    assert slots.slot_times(FURONG) == (
        "09:00", "09:30", "10:00", "10:30", "11:00",
        "14:00", "14:30", "15:00", "15:30", "16:00", "16:30",
    )  # fmt: skip


def test_an_office_with_its_own_hours_and_slot_length():
    small = Office("x", "某登记处", "某市", "某县", 0, 0, hours=(("08:30", "10:30"),), slot_minutes=40)
    assert slots.slot_times(small) == ("08:30", "09:10", "09:50")


def test_national_day_is_closed_with_the_holiday_named():
    assert calendar.calendar_reason(date(2026, 10, 1)) == "法定节假日（国庆节）"
    day = slots.availability(FURONG, date(2026, 10, 1), at(date(2026, 9, 28)), RULES)
    assert not day.open and day.reason == "法定节假日（国庆节）" and day.slots == ()


def test_an_ordinary_sunday_is_closed_as_a_weekend():
    assert calendar.calendar_reason(date(2026, 3, 8)) == "周末"


def test_an_adjusted_working_saturday_is_open():
    saturday = adjusted_saturday_2026()
    assert calendar.calendar_reason(saturday) == ""
    day = slots.availability(FURONG, saturday, at(saturday - timedelta(days=2)), RULES)
    assert day.open and len(day.slots) == 11


def test_past_the_librarys_last_year_the_holidays_the_law_fixes_are_closed(r):
    """《全国年节及纪念日放假办法》 (2024): 元旦1天, 春节4天 from 除夕, 清明1, 劳动节2, 端午1, 中秋1, 国庆3."""
    assert not calendar.library_knows(2027)
    closed = {
        date(2027, 1, 1): "元旦",
        **{date(2027, 2, d): "春节" for d in (5, 6, 7, 8)},  # 除夕 is 5 February 2027
        date(2027, 4, 5): "清明",
        date(2027, 6, 9): "端午",
        date(2027, 9, 15): "中秋",
        **{date(2027, 10, d): "国庆节" for d in (1, 2, 3)},
    }
    for day, name in closed.items():
        assert calendar.calendar_reason(day) == f"法定节假日（{name}）", day
    assert calendar.calendar_reason(date(2027, 1, 4)) == ""  # a Monday
    assert calendar.calendar_reason(date(2027, 2, 9)) == ""  # 初四, a Tuesday: the law gives four days
    assert calendar.calendar_reason(date(2027, 1, 9)) == "周末"
    refused = engine.book(FURONG, date(2027, 1, 1), "09:00", [], now=at(date(2026, 12, 28)), rules=RULES)
    assert (refused.kind, refused.fields["date"]) == (engine.INVALID, "法定节假日（元旦）")


def test_staffs_entry_of_the_state_councils_announcement_wins_over_the_fallback(r):
    announced = """
        2027-02-05 春节
        2027-02-11 春节
        2027-02-20 上班
    """
    closures.set_official_days(2027, closures.parse_official_days(2027, announced))
    assert calendar.calendar_reason(date(2027, 2, 11)) == "法定节假日（春节）"  # a Thursday, given off
    assert calendar.calendar_reason(date(2027, 2, 20)) == ""  # a Saturday, worked in exchange
    assert calendar.calendar_reason(date(2027, 2, 21)) == "周末"
    with pytest.raises(ValueError, match="第2行"):
        closures.parse_official_days(2027, "2027-02-05 春节\n2028-01-01 元旦")


def test_staff_are_warned_while_the_window_reaches_a_year_without_announced_days(r):
    december = at(date(2026, 12, 24))
    assert "2027年的放假和调休安排尚未录入" in slots.calendar_warning(december, RULES)
    assert slots.calendar_warning(at(date(2026, 3, 2)), RULES) == ""
    closures.set_official_days(2027, {date(2027, 1, 1): "元旦"})
    assert slots.calendar_warning(december, RULES) == ""


def test_booking_window_is_tomorrow_to_fourteen_days_ahead():
    now = at(date(2026, 3, 2))  # a Monday
    assert slots.window_reason(date(2026, 3, 3), now, RULES) == ""
    assert slots.window_reason(date(2026, 3, 16), now, RULES) == ""
    assert "只能预约明天起、14天以内的日期" in slots.window_reason(date(2026, 3, 17), now, RULES)
    assert slots.window_reason(date(2026, 3, 2), now, RULES) != ""
    assert slots.window_reason(date(2026, 3, 1), now, RULES) == "这一天已经过去了"


def test_same_day_booking_when_configured_needs_the_minimum_notice():
    rules = BookingRules(window_first_day=0, min_notice_minutes=60)
    day = slots.availability(FURONG, date(2026, 3, 2), at(date(2026, 3, 2), "10:10"), rules)
    assert [s.time for s in day.slots][0] == "14:00"  # 11:00 starts in less than an hour


def test_remaining_places_are_capacity_minus_taken():
    day = slots.availability(FURONG, date(2026, 3, 3), at(date(2026, 3, 2)), RULES, taken={"09:00": 2, "09:30": 5})
    assert day.slot("09:00").remaining == 1
    assert day.slot("09:30").remaining == 0
    assert day.slot("10:00").remaining == 3


def test_peak_dates_are_named_including_qixi_by_the_lunar_calendar():
    assert calendar.peak_name(date(2026, 5, 20)) == "5月20日"
    assert calendar.peak_name(date(2026, 5, 21)) == "5月21日"
    assert calendar.peak_name(date(2026, 2, 14)) == "2月14日情人节"
    assert calendar.qixi(2026) == date(2026, 8, 19)
    assert calendar.peak_name(date(2026, 8, 19)) == "七夕"
    assert calendar.peak_name(date(2026, 8, 18)) == ""


def test_peak_capacity_from_rules_then_staff_override():
    assert slots.capacity(FURONG, date(2026, 5, 20), BookingRules(peak_capacity=6)) == 6
    assert slots.capacity(FURONG, date(2026, 5, 19), BookingRules(peak_capacity=6)) == 3
    assert slots.capacity(FURONG, date(2026, 5, 20), BookingRules()) == 3
    assert slots.capacity(FURONG, date(2026, 5, 19), RULES, staff_peak_capacity=1) == 1


def test_quieter_days_near_a_peak_are_open_ordinary_days():
    now = at(date(2026, 5, 15))
    assert slots.quieter_days(date(2026, 5, 20), now, RULES) == [date(2026, 5, 19), date(2026, 5, 18)]


def rules_from(environ: dict) -> BookingRules:
    return BookingRules.from_config(Config.from_env({"TONGZHOU_ENV": "development", **environ}))


def test_rules_from_the_environment():
    rules = rules_from({"BOOKING_WINDOW_DAYS": "7", "EPIDEMIC_MODE": "off", "PII_RETENTION_DAYS": "10"})
    assert (rules.window_days, rules.epidemic_mode, rules.pii_retention_days) == (7, False, 10)
    assert rules_from({}) == BookingRules()
    with pytest.raises(ConfigError, match="BOOKING_WINDOW_DAYS"):
        rules_from({"BOOKING_WINDOW_DAYS": "two weeks"})


def test_ceremonies_are_suspended_in_epidemic_mode():
    assert "颁证仪式暂停" in slots.ceremony_notice(RULES)
    assert slots.ceremony_notice(BookingRules(epidemic_mode=False)) == ""


# -- staff overrides in Redis --------------------------------------------------------------------


def test_a_province_wide_closure_closes_every_office_that_day(r):
    engine.close(date(2026, 3, 4), "疫情防控", now=at(date(2026, 3, 2)))
    day = engine.availability(FURONG, date(2026, 3, 4), now=at(date(2026, 3, 2)))
    assert not day.open and day.reason == "该日已暂停登记：疫情防控"
    assert engine.availability(FURONG, date(2026, 3, 5), now=at(date(2026, 3, 2))).open


def test_one_office_closure_leaves_the_others_open_and_can_be_lifted(r):
    other = Office("changsha-tianxin", "长沙市天心区婚姻登记处", "长沙市", "天心区", 28.11, 112.99)
    now = at(date(2026, 3, 2))
    engine.close(date(2026, 3, 4), "场所消毒", now=now, office=FURONG)
    assert closures.reason(FURONG.id, date(2026, 3, 4)) == "场所消毒"
    assert engine.availability(other, date(2026, 3, 4), now=now).open
    closures.reopen(date(2026, 3, 4), FURONG.id)
    assert engine.availability(FURONG, date(2026, 3, 4), now=now).open


def test_seed_closure_of_2_february_2020_needs_no_staff_action(r):
    assert closures.reason("changsha-furong", date(2020, 2, 2)) == "疫情防控，全省暂停办理婚姻登记"


def test_staff_peak_capacity_shows_in_availability(r):
    closures.set_peak(date(2026, 3, 6), 1, "元宵后高峰")
    day = engine.availability(FURONG, date(2026, 3, 6), now=at(date(2026, 3, 2)))
    assert day.peak == "元宵后高峰"
    assert {s.capacity for s in day.slots} == {1}
    closures.clear_peak(date(2026, 3, 6))
    assert {s.capacity for s in engine.availability(FURONG, date(2026, 3, 6), now=at(date(2026, 3, 2))).slots} == {3}


@pytest.mark.slow
def test_staff_enter_a_years_announcement_from_the_command_line(redis_url, r, tmp_path):
    announcement = tmp_path / "2027.txt"
    announcement.write_text("2027-02-05 春节\n2027-02-20 上班\n", encoding="utf-8")
    command = [sys.executable, "-m", "bot.bookings.closures", "official-days", "2027", str(announcement)]
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["2027-02-05 春节", "2027-02-20 上班"]
    assert calendar.calendar_reason(date(2027, 2, 20)) == ""
    announcement.write_text("2月5日 春节\n", encoding="utf-8")
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "第1行应为" in refused.stderr
