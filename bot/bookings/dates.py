"""When a citizen wants to register, from their own words: 明天、下周三上午、5月20号、12.1、下午两点半、
3天后、两周后、下下周、这个月28号.

A compact rule parser rather than a library: the expressions a booking needs are few, the
libraries measured on them (ChineseTimeNLP, jionlp, dateparser) miss some and need our rules
around them anyway (12.1 → 12月1日, past dates → next year, 三点 → 15:00 in office hours), and
none is thread-safe. Everything here is pure: module-level compiled patterns and constants only,
so any number of threads may call `parse_when` at once.

It reads a date, a half-day and a clock time independently, so "下周三上午在芙蓉区登记结婚" gives
the date and the half-day and leaves the office to `knowledge.offices`. Words that name a time but
no one day ("月底前", "过几天", "下个月") give `unclear`, so the chat can re-ask with `EXAMPLES`;
words asking for the first day there is ("尽快", "马上", "越早越好") give `soonest`.
"""

from __future__ import annotations  # the field `date` would otherwise shadow the type in annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.bookings.calendar import AFTERNOON, MORNING, next_lunar_day, next_qixi
from knowledge.normalize import normalize

EXAMPLES = "“明天下午”“下周三”“12月3日”“3天后”“下个月5号”"  # what a re-asked date question suggests


@dataclass(frozen=True)
class When:
    date: date | None = None
    half: str | None = None  # MORNING | AFTERNOON
    time: str | None = None  # "HH:MM"
    unclear: str | None = None  # words naming a time but no one day ("月底前"), when no date was read
    soonest: bool = False  # "尽快", "最早哪天": the first day with room, when no date was read


def parse_when(text: str, now: datetime) -> When:
    """The date, half-day and time the text names; None for each part it does not name (or names impossibly)."""
    today = now.date()
    words = normalize(text)
    day, words = _named_day(words, today)
    words = _digits(_A_LITTLE.sub(r"\1些", words))
    if day is None:
        day, words = _numbered_day(words, today)
    vague = _VAGUE.search(words) if day is None else None
    period_word = _PERIOD.search(words)
    period = _PERIODS[period_word.group()] if period_word else None
    time = _clock_time(words, period)
    half = period if period in (MORNING, AFTERNOON) else None
    if half is None and time:
        half = MORNING if time < "12:00" else AFTERNOON
    soonest = day is None and _SOONEST.search(words) is not None
    return When(day, half, time, vague.group() if vague else None, soonest)


# --- days named in words: 明天, 下周三, 七夕 -------------------------------------------------------

_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "听日": 1, "后天": 2, "大后天": 3}  # 听日: Cantonese
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEK_OFFSETS = {"上": -1, "本": 0, "这": 0, "下": 1, "下下": 2}
_WEEKDAY = re.compile(r"(下下|下|上|本|这)?个?(?:周|星期|礼拜)([一二三四五六日天末])")
_WEEK_ALONE = re.compile(r"(下下|下)个?(?:周|星期|礼拜)(?![一二三四五六日天末])")
_RELATIVE_DAY = re.compile("|".join(sorted(_RELATIVE, key=len, reverse=True)))
_FIXED_FESTIVALS = {"情人节": (2, 14), "元旦": (1, 1), "圣诞节": (12, 25)}
_FESTIVAL = re.compile(r"七夕节?|情人节|元旦|圣诞节")


# Lunar dates, as couples choose lucky days: 农历十月十八, 腊月初八, 正月十六, 冬月廿二. Without 农历 or
# 阴历 a month is read as lunar only when its name or its day's is one the solar calendar never
# uses (正月, 冬月, 腊月; 初八, 廿二): "十一月十八" stays 18 November.
_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12} | {name: n for n, name in enumerate("一二三四五六七八九十", 1)}
_LUNAR_DAY_WORDS = "初十廿卅一二三四五六七八九"
_LUNAR = re.compile(
    rf"(农历|阴历|旧历)?\s*(正|冬|腊|十[一二]|[一二三四五六七八九十])月\s*([{_LUNAR_DAY_WORDS}]{{2,3}})"
)


def _lunar_day_number(words: str) -> int | None:
    if words.startswith("初"):
        return _NUMERAL_VALUES.get(words[1:]) or (10 if words[1:] == "十" else None)
    if words.startswith(("廿", "卅")):
        units = _NUMERAL_VALUES.get(words[1:], 0) if len(words) > 1 else 0
        return (20 if words[0] == "廿" else 30) + units
    value = _numeral(words)
    return value if isinstance(value, int) and 1 <= value <= 30 else None


def _lunar(words: str, today: date) -> tuple[date | None, re.Match | None]:
    match = _LUNAR.search(words)
    if not match:
        return None, None
    prefix, month_name, day_words = match.groups()
    if not (prefix or month_name in "正冬腊" or day_words[0] in "初廿卅"):
        return None, None
    month = _LUNAR_MONTHS.get(month_name) or _numeral(month_name)
    day = _lunar_day_number(day_words)
    if not isinstance(month, int) or day is None:
        return None, match
    return next_lunar_day(today, month, day), match


def _named_day(words: str, today: date) -> tuple[date | None, str]:
    """Weekdays, 明天-style words, lunar dates and festivals, read before numerals are converted
    (周三 is not 周3)."""
    lunar, match = _lunar(words, today)
    if match:
        return lunar, _blank(words, match)
    if match := _WEEKDAY.search(words):
        week, weekday = match.group(1), _WEEKDAYS[match.group(2)]
        if week is None:  # 周三: the next Wednesday after today
            day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
        else:
            monday = today - timedelta(days=today.weekday())
            day = monday + timedelta(weeks=_WEEK_OFFSETS[week], days=weekday)
        return day, _blank(words, match)
    if match := _WEEK_ALONE.search(words):  # 下周, 下下周: the same weekday that many weeks on
        return today + timedelta(weeks=_WEEK_OFFSETS[match.group(1)]), _blank(words, match)
    if match := _RELATIVE_DAY.search(words):
        return today + timedelta(days=_RELATIVE[match.group()]), _blank(words, match)
    if match := _FESTIVAL.search(words):
        name = match.group()
        if name.startswith("七夕"):
            return next_qixi(today), _blank(words, match)
        return _upcoming(today, *_FIXED_FESTIVALS[name]), _blank(words, match)
    return None, words


# --- days written with numbers: 5月20号, 12.1, 2026-12-01, 20号, 520 -----------------------------

_FULL_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*[日号]?")
# 3天后, 十天以后, 过三天, 三日后 (read before 3日 is taken for the 3rd); 两周后, 过两个礼拜.
_DAYS_LATER = re.compile(r"(?<!\d)(\d{1,3})\s*[天日]\s*(?:以后|之后|后)|过\s*(\d{1,3})\s*天")
_WEEKS_LATER = re.compile(
    r"(?<!\d)(\d{1,2})\s*个?\s*(?:周|星期|礼拜)\s*(?:以后|之后|后)|过\s*(\d{1,2})\s*个?\s*(?:周|星期|礼拜)"
)
_THIS_MONTH_DAY = re.compile(r"(?:这个?|本)月\s*(\d{1,2})\s*[日号]")
# A time but no one day: the chat re-asks with examples rather than guess.
_VAGUE = re.compile(
    r"(?:(?:这个?|本)?月[底末尾]|过几天|几天[以之]?后|过一?段时间|近期|年[前后底]|春节|节[前后]|下个?月|[上中下]旬)(?:[之以]?[前后])?"
)
# Asking for the first day with room; read after numerals become digits (第一天 → 第1天).
_SOONEST = re.compile(
    r"尽快|尽早|马上|立刻|立即|赶紧|赶快|越快越好|越早越好|最早|最快|最近的?1天|早点|(?:能约|有空|有号)的?第1天|asap"
)
_NEXT_MONTH_DAY = re.compile(r"下个?月\s*(\d{1,2})\s*[日号]")
# Not right after 上午/下午/晚上: "下午2.30" is a time.
_MONTH_DAY = re.compile(r"(?<![\d:午上])(\d{1,2})\s*(?:月|[./-](?=\s*\d))\s*(\d{1,2})(?![\d:])\s*[日号]?")
_DAY = re.compile(r"(?<![\d月])(\d{1,2})\s*[日号](?![楼房室院门线窗])")  # not 3号楼, 5号窗口
_LOVE_DAYS = re.compile(r"(?<![\d.:/-])52([01])(?![\d.:/-]|\s*[点时])")  # 520, 521: 我爱你


def _numbered_day(words: str, today: date) -> tuple[date | None, str]:
    if match := _DAYS_LATER.search(words):
        return today + timedelta(days=int(match.group(1) or match.group(2))), _blank(words, match)
    if match := _WEEKS_LATER.search(words):
        return today + timedelta(weeks=int(match.group(1) or match.group(2))), _blank(words, match)
    if match := _FULL_DATE.search(words):
        return _date_or_none(*map(int, match.groups())), _blank(words, match)
    if match := _THIS_MONTH_DAY.search(words):  # 这个月28号: this month's, even if already past
        return _date_or_none(today.year, today.month, int(match.group(1))), _blank(words, match)
    if match := _NEXT_MONTH_DAY.search(words):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return _date_or_none(year, month, int(match.group(1))), _blank(words, match)
    if match := _MONTH_DAY.search(words):
        return _upcoming(today, int(match.group(1)), int(match.group(2))), _blank(words, match)
    if match := _DAY.search(words):
        return _upcoming_day_of_month(today, int(match.group(1))), _blank(words, match)
    if match := _LOVE_DAYS.search(words):
        return _upcoming(today, 5, 20 + int(match.group(1))), _blank(words, match)
    return None, words


def _upcoming(today: date, month: int, day: int) -> date | None:
    """This year's month-day, or next year's if it has passed (today itself has not)."""
    this_year = _date_or_none(today.year, month, day)
    if this_year is None or this_year >= today:
        return this_year
    return _date_or_none(today.year + 1, month, day)


def _upcoming_day_of_month(today: date, day: int) -> date | None:
    """20号: this month's 20th, or next month's if it has passed."""
    if day >= today.day and (this_month := _date_or_none(today.year, today.month, day)):
        return this_month
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return _date_or_none(year, month, day)


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 2月30日, 13.1: not a date
        return None


# --- half-day and clock time: 上午, 下午3点, 三点半, 14:30 ------------------------------------------

_PERIODS = {
    "上午": MORNING,
    "早上": MORNING,
    "早晨": MORNING,
    "上半天": MORNING,
    "上昼": MORNING,  # Hunan and Cantonese (上晝); 上半日 is Cantonese too
    "上半日": MORNING,
    "朝早": MORNING,  # Cantonese
    "下午": AFTERNOON,
    "下半天": AFTERNOON,
    "下昼": AFTERNOON,
    "下半日": AFTERNOON,
    "午后": AFTERNOON,
    "中午": "中午",
    "晚上": "晚上",
    "傍晚": "晚上",
}
_PERIOD = re.compile("|".join(_PERIODS))
# 14:30, and 2.30 right after 下午/上午 ("下午2.30").
_DIGITAL_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)|(?<=[午上])(\d{1,2})\.([0-5]\d)(?!\d)")
_CLOCK_TIME = re.compile(r"(?<![\d.])(\d{1,2})\s*[点时](?:\s*(半)|\s*([1-3])刻|\s*(\d{1,2})\s*分?)?")
# "早一点"/"快一点" mean "a little earlier/faster", not one o'clock.
_A_LITTLE = re.compile(r"([早晚快慢多少大小差好])一点")


def _clock_time(words: str, period: str | None) -> str | None:
    if match := _DIGITAL_TIME.search(words):
        hour, minute = (int(group) for group in match.groups() if group is not None)
    elif match := _CLOCK_TIME.search(words):
        hour = int(match.group(1))
        minute = 30 if match.group(2) else 15 * int(match.group(3) or 0) or int(match.group(4) or 0)
    else:
        return None
    if (period in (AFTERNOON, "晚上") and hour < 12) or (period == "中午" and 1 <= hour <= 2):
        hour += 12
    elif period is None and 1 <= hour <= 7:
        hour += 12  # 三点 in office hours is 15:00; nobody books a registry at 3 a.m.
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


# --- Chinese numerals → digits ------------------------------------------------------------------

_NUMERAL_VALUES = {character: value for value, character in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_NUMERALS = re.compile(r"[〇零一二两三四五六七八九十]+")


def _digits(words: str) -> str:
    """十二月一号 → 12月1号, 两点半 → 2点半, 二〇二七年 → 2027年, 五二零 → 520."""
    return _NUMERALS.sub(lambda match: str(_numeral(match.group())), words)


def _numeral(numeral: str) -> int | str:
    if "十" not in numeral:  # read digit by digit: 二〇二七, 五二零, 三
        return "".join(str(_NUMERAL_VALUES[character]) for character in numeral)
    tens, _, units = numeral.partition("十")
    if len(tens) > 1 or len(units) > 1 or "十" in units:
        return numeral  # not a number a date or time uses: leave the words as they are
    return _NUMERAL_VALUES.get(tens, 1) * 10 + _NUMERAL_VALUES.get(units, 0)


def _blank(words: str, match: re.Match) -> str:
    """The text with a match removed, so later patterns don't read the same words again."""
    return words[: match.start()] + " " + words[match.end() :]


# Moving a booking by so many days or weeks: 提前一天, 早两天, 推迟三天, 往后推一周, 晚一个礼拜.
_MOVED = re.compile(
    r"(提前|提早|早|往前挪?|前移|推迟|推后|延后|延期|往后推?|往后挪|后推|推|晚)\s*(\d{1,2})\s*个?\s*(天|日|周|星期|礼拜)"
)
_EARLIER = ("提前", "提早", "早", "往前", "前移")


def moved_by(text: str) -> timedelta | None:
    """How far the words move a booked day ("提前一天" → −1 day), or None when they name no such move."""
    match = _MOVED.search(_digits(normalize(text)))
    if not match:
        return None
    verb, count, unit = match.groups()
    step = timedelta(days=int(count)) if unit in "天日" else timedelta(weeks=int(count))
    return -step if verb.startswith(_EARLIER) else step


def date_arg(raw) -> date | None:
    """A YYYY-MM-DD date from a form, a query string or a JSON body; None for anything else."""
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        return None
