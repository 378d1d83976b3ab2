"""The daily per-office summary for staff: the day's bookings, check-ins, no-shows, cancellations
and tomorrow's load, kept in Redis as `summary:<ISO date>`, a hash of office id → JSON counts.

The scheduler writes it once a day (jobs.JOBS "summary"); the console's /summary and the staff
pages read it. Writing recomputes from the bookings, so running it again is harmless.
"""

import json
from collections import Counter
from datetime import date, datetime, time, timedelta

from bot import store
from bot.bookings import engine

KEY = "summary:%s"
# The counts, in the order and with the titles staff see them.
FIELDS = {"booked": "预约", "checked_in": "签到", "no_show": "未到场", "cancelled": "取消", "tomorrow": "明日预约"}
# Well after every office's last slot plus the no-show grace, so the day's figures are final.
DAILY_AT = time(20, 0)

_CANCELLED = (engine.CANCELLED, engine.CANCELLED_BY_OFFICE)


def compute(day: date) -> dict[str, dict[str, int]]:
    """Office id → counts for `day`, for every office with a booking that day or the next."""
    counts: dict[str, Counter] = {}
    for office_id, status in engine.statuses_on(day):
        mine = counts.setdefault(office_id, Counter())
        mine["booked"] += status in engine.HELD_A_PLACE
        mine["checked_in"] += status == engine.CHECKED_IN
        mine["no_show"] += status == engine.NO_SHOW
        mine["cancelled"] += status in _CANCELLED
    for office_id, status in engine.statuses_on(day + timedelta(days=1)):
        counts.setdefault(office_id, Counter())["tomorrow"] += status in engine.HELD_A_PLACE
    return {office_id: {name: mine[name] for name in FIELDS} for office_id, mine in counts.items()}


def write(day: date) -> dict[str, dict[str, int]]:
    """Recompute `day`'s summary and replace the stored one; returns what was stored."""
    summary = compute(day)
    pipe = store.client().pipeline(transaction=True)
    pipe.delete(KEY % day.isoformat())
    if summary:
        pipe.hset(KEY % day.isoformat(), mapping={o: json.dumps(c) for o, c in summary.items()})
    pipe.execute()
    return summary


def read(day: date) -> dict[str, dict[str, int]]:
    """The stored summary of `day` (empty until the scheduler has written it)."""
    return {office_id: json.loads(raw) for office_id, raw in store.client().hgetall(KEY % day.isoformat()).items()}


def write_daily(payload: dict, now: datetime) -> None:
    """The scheduler's daily job. Yesterday is written again too, so a scheduler that was down over
    the evening still leaves the day it missed complete. `now` is in the service's zone."""
    today = now.date()
    write(today - timedelta(days=1))
    write(today)
