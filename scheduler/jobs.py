"""What the scheduler does with each kind of due work: JOBS, the one table from kind to function.

A job is `(payload, now) -> None`. Returning means done; raising means "try again": the item
stays leased and comes back when its lease runs out, until worker.MAX_ATTEMPTS.

Notices (waitlist promotions, closures) arrive from the booking engine as JSON objects pushed with
RPUSH onto the Redis list NOTICES_PENDING:
    {"key": "<booking code>:<kind>", "openid": "...", "kind": "waitlist_promoted",
     "text": "<the message>", "template_data": {"office": "...", ...}}
`key` is the idempotency key: one notice per key ever reaches the user. Each tick adopts them into
the queue, so a scheduler that dies holding one loses nothing.

Still to plug in once bot/bookings.py exists (each a function here plus one row in JOBS, run as
self-rescheduling items): no-show marking after slot + grace (bookings.mark_no_shows(now)),
PII anonymisation after retention (bookings.anonymise_expired(now)), and the daily per-office
summary for staff. Dialogue pages need no job: they live in the session, which expires on its own.
"""

from datetime import datetime

from bot import outbound
from scheduler import reminders

NOTICE = "notice"
NOTICES_PENDING = "notices:pending"


def send_notice(payload: dict, now: datetime) -> None:
    outbound.send(
        payload["openid"], payload["kind"], payload["key"], payload["text"], payload.get("template_data"), now=now
    )


JOBS = {
    NOTICE: send_notice,
    reminders.REMINDER: reminders.send_reminder,
}
