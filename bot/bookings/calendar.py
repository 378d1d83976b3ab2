"""The calendar booking rules stand on: which days are working days (holidays and 调休 make-up
days), which are peak days (5月20日, 七夕 …), and which half of the day a time falls in.

Working days come from `chinese-calendar` for the years it knows. Past its last year, staff's
entry of the State Council's announcement for that year (bot/bookings/closures.py) is used; until
they enter it, the holidays the law itself fixes (《全国年节及纪念日放假办法》, as amended in 2024)
and weekends are closed — without the 调休 swaps, which only the announcement gives — and staff
are warned (years_without_official_days).
"""

import logging
from datetime import date, time, timedelta
from functools import cache

import chinese_calendar
from lunar_python import Lunar, Solar

from bot.bookings import closures

log = logging.getLogger(__name__)

MORNING = "上午"
AFTERNOON = "下午"
NOON = time(12, 0)
WEEKEND = "周末"

# Fixed-date peaks (month, day) and their names; 七夕 moves with the lunar calendar.
_SOLAR_PEAKS = {(2, 14): "2月14日情人节", (5, 20): "5月20日", (5, 21): "5月21日"}
QIXI = "七夕"

_HOLIDAY_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}
_fallback_years_logged: set[int] = set()


def calendar_reason(day: date) -> str:
    """Why the statutory calendar closes `day` ("" when it is a working day, 调休 Saturdays included)."""
    if not library_knows(day.year):
        return _reason_past_library(day)
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    if not on_holiday:
        return ""
    if name:
        return holiday_reason(_HOLIDAY_NAMES.get(name, name))
    return WEEKEND


def holiday_reason(name: str) -> str:
    return f"法定节假日（{name}）"


@cache
def library_knows(year: int) -> bool:
    """Whether `chinese-calendar` has the year's holidays and 调休 days."""
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def years_without_official_days(days) -> list[int]:
    """The years among `days` whose 放假/调休 days are known neither to the library nor from staff."""
    years = sorted({d.year for d in days if not library_knows(d.year)})
    return [year for year in years if not closures.official_days(year)]


@cache
def statutory_holidays(year: int) -> dict[date, str]:
    """The days off the law fixes (《全国年节及纪念日放假办法》 art. 2, as amended in 2024): 元旦 1 day,
    春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3 — by the lunar calendar and solar terms."""
    new_year = _solar(Lunar.fromYmd(year, 1, 1).getSolar())
    qingming = _solar(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"])
    days = {
        date(year, 1, 1): "元旦",
        **{new_year + timedelta(days=n): "春节" for n in range(-1, 3)},
        qingming: "清明",
        date(year, 5, 1): "劳动节",
        date(year, 5, 2): "劳动节",
        _solar(Lunar.fromYmd(year, 5, 5).getSolar()): "端午",
        _solar(Lunar.fromYmd(year, 8, 15).getSolar()): "中秋",
        **{date(year, 10, n): "国庆节" for n in (1, 2, 3)},
    }
    return {day: name for day, name in days.items() if day.year == year}


def _reason_past_library(day: date) -> str:
    official = closures.official_days(day.year)
    if official:  # staff entered the State Council's announcement: it alone decides
        name = official.get(day, "")
        if name == closures.WORKING_DAY:
            return ""
        return holiday_reason(name) if name else (WEEKEND if day.weekday() >= 5 else "")
    if day.year not in _fallback_years_logged:
        _fallback_years_logged.add(day.year)
        log.warning(
            "no holiday data for %s: closing the statutory holidays and weekends until staff enter the announcement",
            day.year,
        )
    name = statutory_holidays(day.year).get(day)
    if name:
        return holiday_reason(name)
    return WEEKEND if day.weekday() >= 5 else ""


def _solar(solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


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
    return _solar(Lunar.fromYmd(year, 7, 7).getSolar())


def next_lunar_day(today: date, month: int, day: int) -> date | None:
    """The next solar date (today or later) of a lunar month and day ("腊月初八"); None when that
    lunar month has no such day."""
    year = Solar.fromYmd(today.year, today.month, today.day).getLunar().getYear()
    for lunar_year in (year, year + 1):
        try:
            solar = _solar(Lunar.fromYmd(lunar_year, month, day).getSolar())
        except Exception:  # lunar_python raises a bare Exception for a day the month lacks
            return None
        if solar >= today:
            return solar
    return None


def next_qixi(today: date) -> date:
    """This year's 七夕 if it is still ahead (or today), else next year's."""
    this_year = qixi(today.year)
    return this_year if this_year >= today else qixi(today.year + 1)
