"""Staff changes to the calendar, kept in Redis so they take effect at once: closures, peak capacity,
and the State Council's announced 放假/调休 days for a year the calendar library doesn't know yet.

A closure is a reason stored under the date, for the whole province (field "*") or one office.
Closing is done by `bookings.close()`, which writes the closure and cancels that day's bookings
in one atomic script; this module owns the key layout, reading, reopening and peak overrides.
Seed closures (known in advance, e.g. 2020-02-02) are data below and apply without Redis.

`python -m bot.bookings.closures official-days 2027 FILE` enters a year's announced days from a
file of lines "2027-02-05 春节" / "2027-02-20 上班" (what /admin/calendar's form takes), and
`python -m bot.bookings.closures official-days 2027` shows what is entered.
"""

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from bot import store

PROVINCE = "*"

# Known closures: (date, office id or PROVINCE) → reason. Staff add more at run time.
SEED_CLOSURES = {
    (date(2020, 2, 2), PROVINCE): "疫情防控，全省暂停办理婚姻登记",
}


# Key layouts (%s = ISO date); the engine's Lua scripts are given the same templates.
CLOSURE_KEY = "closures:%s"
PEAK_KEY = "peak:%s"
OFFICIAL_DAYS_KEY = "calendar:official:%s"  # %s = year; ISO date → holiday name, or WORKING_DAY

# Marks a make-up working day (调休上班) among the official days.
WORKING_DAY = "上班"
_OFFICIAL_LINE = re.compile(r"(\d{4}-\d{2}-\d{2})\s+(\S+)")


def closure_key(day: date) -> str:
    return CLOSURE_KEY % day.isoformat()


def peak_key(day: date) -> str:
    return PEAK_KEY % day.isoformat()


def fields_for(office_id: str) -> list[str]:
    """The closures that close `office_id`, in the order their reason is told: the province's, then its own."""
    return [PROVINCE, office_id]


def reason_in(stored: dict[str, str], office_id: str, day: date | None) -> str:
    """The closure reason for `office_id` from a date's stored closures or the seed ("" when it is open).

    The booking scripts check the same fields_for() atomically and hand back what they found here.
    """
    for field in fields_for(office_id):
        found = stored.get(field) or SEED_CLOSURES.get((day, field))
        if found:
            return found
    return ""


def reason(office_id: str, day: date) -> str:
    return reason_in(store.client().hgetall(closure_key(day)), office_id, day)


def reopen(day: date, office_id: str = PROVINCE) -> None:
    """Lift a staff closure. Bookings cancelled by it stay cancelled; couples rebook."""
    store.client().hdel(closure_key(day), office_id)


def closures_on(day: date) -> dict[str, str]:
    """Staff closures stored for `day`: office id (or "*") → reason."""
    return store.client().hgetall(closure_key(day))


def set_peak(day: date, capacity: int, label: str = "高峰日") -> None:
    """Mark `day` as a peak with its own capacity per slot (also overrides a built-in peak's capacity)."""
    if capacity < 0:
        raise ValueError("capacity must not be negative")
    store.client().hset(peak_key(day), mapping={"capacity": capacity, "label": label})


def clear_peak(day: date) -> None:
    store.client().delete(peak_key(day))


def peak_from(stored: dict[str, str]) -> tuple[int, str] | None:
    """(capacity, label) from a stored peak hash, None when staff set none."""
    return (int(stored["capacity"]), stored.get("label", "")) if stored else None


def peak(day: date) -> tuple[int, str] | None:
    return peak_from(store.client().hgetall(peak_key(day)))


def official_days(year: int) -> dict[date, str]:
    """Staff's entry of the year's announced days off (date → holiday name) and make-up working
    days (date → WORKING_DAY); empty until they enter it."""
    stored = store.client().hgetall(OFFICIAL_DAYS_KEY % year)
    return {date.fromisoformat(day): name for day, name in stored.items()}


def set_official_days(year: int, days: dict[date, str]) -> None:
    """Replace the year's announced days (an empty `days` removes the entry)."""
    if any(d.year != year for d in days):
        raise ValueError(f"every date must be in {year}")
    pipe = store.client().pipeline(transaction=True)
    pipe.delete(OFFICIAL_DAYS_KEY % year)
    if days:
        pipe.hset(OFFICIAL_DAYS_KEY % year, mapping={d.isoformat(): name for d, name in sorted(days.items())})
    pipe.execute()


def parse_official_days(year: int, text: str) -> dict[date, str]:
    """Staff's lines "2027-02-05 春节" (a day off) or "2027-02-20 上班" (a make-up working day);
    ValueError naming the line at fault."""
    days = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _OFFICIAL_LINE.fullmatch(line.strip())
        try:
            day = date.fromisoformat(match.group(1)) if match else None
        except ValueError:
            day = None
        if day is None or day.year != year:
            raise ValueError(f"第{number}行应为“{year}-MM-DD 节日名”或“{year}-MM-DD {WORKING_DAY}”：{line.strip()}")
        days[day] = match.group(2)
    return days


def main(argv=None) -> int:
    from bot.config import Config

    parser = argparse.ArgumentParser(description="Enter or show a year's announced 放假/调休 days.")
    commands = parser.add_subparsers(dest="command", required=True)
    official = commands.add_parser("official-days", help="show the year's entry, or replace it from FILE")
    official.add_argument("year", type=int)
    official.add_argument(
        "file", nargs="?", help=f'lines "YYYY-MM-DD 节日名" or "YYYY-MM-DD {WORKING_DAY}"; - for stdin'
    )
    args = parser.parse_args(argv)
    config = Config.from_env()
    if not store.connect_shared(config, "the calendar lives in Redis"):
        return 2
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        try:
            set_official_days(args.year, parse_official_days(args.year, text))
        except ValueError as problem:
            print(problem, file=sys.stderr)
            return 1
    for day, name in sorted(official_days(args.year).items()):
        print(day.isoformat(), name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
