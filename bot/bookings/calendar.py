"""The calendar booking rules stand on: which days are working days (holidays and 调休 make-up
days), which are peak days (5月20日, 七夕 …), and which half of the day a time falls in.

Pure functions of the date; the staff's run-time calendar data (closures, peak overrides) is read
by bot/bookings/closures.py and passed in.
"""

import logging
from datetime import date, time
from functools import cache

import chinese_calendar
from lunar_python import Lunar

log = logging.getLogger(__name__)

MORNING = "上午"
AFTERNOON = "下午"
NOON = time(12, 0)

# Fixed-date peaks (month, day) and their names; 七夕 moves with the lunar calendar.
_SOLAR_PEAKS = {(2, 14): "2月14日情人节", (5, 20): "5月20日", (5, 21): "5月21日"}
QIXI = "七夕"

_HOLIDAY_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}
_fallback_years_logged: set[int] = set()


def calendar_reason(day: date) -> str:
    """Why the statutory calendar closes `day` ("" when it is a working day, 调休 Saturdays included)."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        if day.year not in _fallback_years_logged:
            _fallback_years_logged.add(day.year)
            log.warning("chinese_calendar has no data for %s: treating Monday-Friday as working days", day.year)
        return "周末" if day.weekday() >= 5 else ""
    if not on_holiday:
        return ""
    if name:
        return f"法定节假日（{_HOLIDAY_NAMES.get(name, name)}）"
    return "周末"


def half_day(hhmm: str) -> str:
    """上午 or 下午 for a "HH:MM" time."""
    return MORNING if time.fromisoformat(hhmm) < NOON else AFTERNOON


def peak_name(day: date, staff_peak_label: str = "") -> str:
    """The name of the peak `day` is ("" for an ordinary day). Staff-added peaks carry their own label."""
    if staff_peak_label:
        return staff_peak_label
    if (day.month, day.day) in _SOLAR_PEAKS:
        return _SOLAR_PEAKS[(day.month, day.day)]
    if qixi(day.year) == day:
        return QIXI
    return ""


@cache
def qixi(year: int) -> date:
    """七夕: the 7th day of the 7th lunar month, as a solar date."""
    solar = Lunar.fromYmd(year, 7, 7).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def next_qixi(today: date) -> date:
    """This year's 七夕 if it is still ahead (or today), else next year's."""
    this_year = qixi(today.year)
    return this_year if this_year >= today else qixi(today.year + 1)
