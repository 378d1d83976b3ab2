"""The booking rules: which days and times can be booked, with what capacity, and why not.

This is the one place those rules live. `rules()` is the one door to the settings: the
configured values (read once per process) with staff's run-time switch applied. Everything
else here is a pure function of its arguments (the office, the day, `now`, the rules and what
staff stored), so the chat, the API and the engine agree, and tests can pass any `now`. The
calendar itself (holidays, 调休, peaks, 上午/下午) is bot/bookings/calendar.py; the engine adds
the counts from Redis; staff closures and peak overrides are read through bot/bookings/closures.py.
"""

from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from functools import cache

from bot import config, store
from bot.bookings import wording
from bot.bookings.calendar import (
    AFTERNOON,
    MORNING,
    calendar_reason,
    half_day,
    peak_name,
    years_without_official_days,
)
from bot.config import BOOKING_VARIABLES, Config, ConfigError
from knowledge.offices import Office

# Staff's epidemic-mode switch, kept in Redis so every app and scheduler process sees it at once.
# EPIDEMIC_MODE gives the default; once staff flip it, their choice holds until they flip it back.
EPIDEMIC_MODE_KEY = "settings:epidemic_mode"


@dataclass(frozen=True)
class BookingRules:
    """Every booking setting in one value. Durations are minutes or days as their names say."""

    window_first_day: int = 1  # earliest bookable day, counted from today (1 = tomorrow)
    window_days: int = 14  # latest bookable day, counted from today
    min_notice_minutes: int = 60  # matters when window_first_day is 0 (same-day booking)
    cancel_cutoff_minutes: int = 120  # citizens cannot cancel or move a booking later than this before the slot
    checkin_opens_minutes: int = 30  # check-in accepted from this long before the slot
    no_show_grace_minutes: int = 30  # after slot start + grace an unchecked booking is a no-show
    no_show_limit: int = 3  # this many no-shows ...
    no_show_lookback_days: int = 90  # ... within this many days ...
    suspension_days: int = 30  # ... suspend chat and web booking this long
    pii_retention_days: int = 30  # names and ID hashes are removed this long after the booking date
    peak_capacity: int = 0  # couples per slot on peak dates; 0 keeps each office's own capacity
    epidemic_mode: bool = True  # ceremonies suspended while on
    residence_rule: bool = True  # register where one party's 常住户口 is (《婚姻登记条例》第四条)

    @classmethod
    def from_config(cls, settings: Config) -> "BookingRules":
        """Defaults overridden by the configured values (config.BOOKING_VARIABLES); a bad one stops start-up."""
        values = {}
        for f in fields(cls):
            raw = settings.booking.get(f.name, "")
            if raw == "":
                continue
            if f.type in (bool, "bool"):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                continue
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ConfigError(f"{BOOKING_VARIABLES[f.name]} must be a whole number, got {raw!r}") from None
        rules = cls(**values)
        rules.validate()
        return rules

    def validate(self) -> None:
        for f in fields(self):
            if f.type in (int, "int") and getattr(self, f.name) < 0:
                raise ConfigError(f"{BOOKING_VARIABLES[f.name]} must not be negative")
        if self.window_days < self.window_first_day:
            raise ConfigError("BOOKING_WINDOW_DAYS must be at least BOOKING_WINDOW_FIRST_DAY")
        if self.no_show_limit == 0:
            raise ConfigError("BOOKING_NO_SHOW_LIMIT must be at least 1")


@cache
def configured_rules() -> BookingRules:
    """This process's configured booking rules, read and validated once (start-up calls this)."""
    return BookingRules.from_config(config.current())


def rules() -> BookingRules:
    """The booking rules in force: the configured ones with staff's run-time switch applied (one Redis read).
    The chat, the API, the pages, the engine and the scheduler all ask here."""
    configured = configured_rules()
    stored = store.client().get(EPIDEMIC_MODE_KEY)
    return configured if stored is None else replace(configured, epidemic_mode=stored == "1")


def set_epidemic_mode(on: bool) -> None:
    store.client().set(EPIDEMIC_MODE_KEY, "1" if on else "0")


@dataclass(frozen=True)
class SlotAvailability:
    time: str  # "09:00"
    capacity: int
    remaining: int


@dataclass(frozen=True)
class DayAvailability:
    office_id: str
    date: date
    open: bool
    reason: str = ""  # why not open, in Chinese; empty when open
    peak: str = ""  # the peak's name when this is a day that fills first
    slots: tuple[SlotAvailability, ...] = ()

    def slot(self, hhmm: str) -> SlotAvailability | None:
        return next((s for s in self.slots if s.time == hhmm), None)

    @property
    def remaining(self) -> int:
        return sum(s.remaining for s in self.slots)


def first_bookable_day(now: datetime, rules: BookingRules) -> date:
    return now.date() + timedelta(days=rules.window_first_day)


def last_bookable_day(now: datetime, rules: BookingRules) -> date:
    return now.date() + timedelta(days=rules.window_days)


def window_days(now: datetime, rules: BookingRules) -> list[date]:
    first, last = first_bookable_day(now, rules), last_bookable_day(now, rules)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def window_reason(day: date, now: datetime, rules: BookingRules) -> str:
    """Why `day` is outside the booking window ("" when inside)."""
    if day < now.date():
        return "这一天已经过去了"
    first, last = first_bookable_day(now, rules), last_bookable_day(now, rules)
    if first <= day <= last:
        return ""
    earliest = "今天" if rules.window_first_day == 0 else "明天" if rules.window_first_day == 1 else first.isoformat()
    span = f"{wording.date_cn(first)}至{wording.date_cn(last)}"
    return f"只能预约{earliest}起、{rules.window_days}天以内的日期（{span}）"


@cache
def slot_times(office: Office) -> tuple[str, ...]:
    """The start times of the office's slots: each opening period cut into slot_minutes steps."""
    step = timedelta(minutes=office.slot_minutes)
    times = []
    for start, end in office.hours:
        at = datetime.combine(date.min, time.fromisoformat(start))
        stop = datetime.combine(date.min, time.fromisoformat(end))
        while at + step <= stop:
            times.append(at.strftime("%H:%M"))
            at += step
    return tuple(times)


def times_in_half_day(office: Office, half: str) -> tuple[str, ...]:
    """The office's slot times in 上午 or 下午 (all of them for any other value)."""
    return tuple(t for t in slot_times(office) if half not in (MORNING, AFTERNOON) or half_day(t) == half)


def slot_start(day: date, hhmm: str, now: datetime) -> datetime:
    """The slot's start as an aware datetime in the same zone as `now`."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=now.tzinfo)


def slot_reason(office: Office, day: date, hhmm: str, now: datetime, rules: BookingRules) -> str:
    """Why this time cannot be booked regardless of counts ("" when it can)."""
    if hhmm not in slot_times(office):
        return f"{office.name}没有 {hhmm} 这个时段"
    if slot_start(day, hhmm, now) - now < timedelta(minutes=rules.min_notice_minutes):
        return f"这个时段需至少提前{rules.min_notice_minutes}分钟预约"
    return ""


def capacity(office: Office, day: date, rules: BookingRules, staff_peak_capacity: int | None = None) -> int:
    """Couples per slot on `day`: a staff override first, then the peak setting, then the office's own."""
    if staff_peak_capacity is not None:
        return staff_peak_capacity
    if rules.peak_capacity and peak_name(day):
        return rules.peak_capacity
    return office.capacity


def availability(
    office: Office,
    day: date,
    now: datetime,
    rules: BookingRules,
    *,
    closure: str = "",
    peak: tuple[int, str] | None = None,
    taken: dict[str, int] | None = None,
) -> DayAvailability:
    """One office's day: open or why not, and each slot's capacity and remaining places.

    `closure` is the staff closure reason for this office and day, `peak` a staff peak override
    (capacity, label), `taken` the booked count per slot time; the engine reads all three.
    """
    label = peak_name(day, peak[1] if peak else "")
    reason = window_reason(day, now, rules) or calendar_reason(day) or (wording.closed(closure) if closure else "")
    if reason:
        return DayAvailability(office.id, day, False, reason, label)
    per_slot = capacity(office, day, rules, peak[0] if peak else None)
    taken = taken or {}
    slots = tuple(
        SlotAvailability(t, per_slot, max(per_slot - int(taken.get(t, 0)), 0))
        for t in slot_times(office)
        if not slot_reason(office, day, t, now, rules)
    )
    if not slots:
        return DayAvailability(office.id, day, False, "当天已没有可预约的时段", label)
    return DayAvailability(office.id, day, True, "", label, slots)


def quieter_days(day: date, now: datetime, rules: BookingRules, count: int = 2) -> list[date]:
    """Open, non-peak days nearest to `day` inside the window: what to offer instead of a peak date."""
    candidates = [d for d in window_days(now, rules) if d != day and not calendar_reason(d) and not peak_name(d)]
    return sorted(candidates, key=lambda d: (abs((d - day).days), d))[:count]


def calendar_warning(now: datetime, rules: BookingRules) -> str:
    """What staff are told while the window reaches a year without official 放假/调休 days ("" otherwise)."""
    years = years_without_official_days(window_days(now, rules))
    return wording.official_days_missing(years) if years else ""


def where_to_register(office: Office, rules: BookingRules) -> str:
    """What the couple confirms when choosing `office` ("" where the place of residence doesn't matter)."""
    return wording.registered_here(office.district) if rules.residence_rule else ""


def nearby_rule(rules: BookingRules) -> str:
    """Said with the offices nearest to a shared location ("" where the place of residence doesn't matter)."""
    return wording.WHERE_TO_REGISTER if rules.residence_rule else ""


def ceremony_notice(rules: BookingRules) -> str:
    """What to tell a couple who ask about the certificate ceremony ("" when ceremonies are held)."""
    return wording.CEREMONIES_SUSPENDED if rules.epidemic_mode else ""
