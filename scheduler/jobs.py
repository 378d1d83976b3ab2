"""What the scheduler does with each kind of due work: JOBS, the one table from kind to job.

A job's `run` is `(payload, now) -> None`. Returning means done; raising means "try again": the
item stays leased and comes back when its lease runs out, until worker.MAX_ATTEMPTS.
A job with `every` or `daily_at` is housekeeping: one item of it always exists, and each run
schedules the next (`every` after the run; `daily_at` at that time of the service's day, since
the clock hands jobs `now` in the service's zone).

Notices (waitlist promotions, closures) are queued by the booking engine's scripts as JSON pushed
onto NOTICES_PENDING: {"key": "<code>:<kind>", "kind", "openid", "text", "code", "date", ...}.
`key` is the idempotency key, so one notice per key ever reaches the user. Each tick adopts them
into the queue, so a scheduler that dies holding one loses nothing.

Dialogue pages need no job: they live in the session, which expires on its own.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.bookings import engine, reminders, summaries, wording
from bot.wechat import outbound

NOTICE = "notice"
NOTICES_PENDING = engine.KEYS["notices"]


@dataclass(frozen=True)
class Job:
    run: Callable[[dict, datetime], None]
    every: timedelta | None = None
    daily_at: time | None = None

    @property
    def housekeeping(self) -> bool:
        return bool(self.every or self.daily_at)

    def next_run(self, now: datetime) -> datetime:
        """When a housekeeping job that just ran at `now` runs again."""
        if self.every:
            return now + self.every
        today = datetime.combine(now.date(), self.daily_at, tzinfo=now.tzinfo)
        return today if today > now else today + timedelta(days=1)


def send_notice(payload: dict, now: datetime) -> None:
    if not payload.get("openid"):
        return  # booked by phone: staff tell them by phone, WeChat cannot reach them
    # Template fields may name any notice field (code, date, office_id, ...) as well as "text".
    outbound.send(payload["openid"], payload["kind"], payload["key"], payload["text"], payload, now=now)


def send_reminder(payload: dict, now: datetime) -> None:
    booking = engine.get(payload["code"])
    planned_start = datetime.fromisoformat(payload["starts_at"])
    if not booking or not booking.active or booking.starts_at != planned_start or now >= booking.starts_at:
        return  # cancelled, moved, or the scheduler was down past the slot: a reminder would mislead
    lead = payload["lead"]
    template_data = {
        "office": booking.office_name,
        "time": wording.slot_cn(booking.date, booking.time),
        "code": booking.code,
    }
    # The slot is part of the key: a booking moved after its first reminder gets reminded of the new time.
    key = f"{booking.code}:reminder_{lead}:{booking.date.isoformat()}T{booking.time}"
    outbound.send(booking.openid, f"reminder_{lead}", key, reminders.text(booking, lead), template_data, now=now)


def mark_no_shows(payload: dict, now: datetime) -> None:
    engine.mark_no_shows(now)


def anonymise_expired(payload: dict, now: datetime) -> None:
    engine.anonymise_expired(now)


JOBS = {
    NOTICE: Job(send_notice),
    reminders.REMINDER: Job(send_reminder),
    "no_shows": Job(mark_no_shows, every=timedelta(minutes=1)),
    "anonymise": Job(anonymise_expired, every=timedelta(hours=1)),
    "summary": Job(summaries.write_daily, daily_at=summaries.DAILY_AT),
}
