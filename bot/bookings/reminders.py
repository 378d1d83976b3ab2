"""Booking reminders, 24 hours and 2 hours before the slot: when they are due and what they say.

The engine calls plan() after a booking is made, moved, cancelled or given to a waiting couple.
Each reminder is one queue item keyed "<code>:24h" / "<code>:2h", so planning again replaces the
old time and an inactive booking's reminders are removed. The scheduler sends them
(scheduler/jobs.py); when one comes due it reads the booking again and says nothing unless the
booking is still confirmed for that same slot, so no stale reminder goes out.
"""

from datetime import datetime, timedelta

from bot import queue, store
from bot.bookings import wording

REMINDER = "reminder"
LEADS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}


def plan(booking, now: datetime) -> None:
    """(Re)schedule both reminders of `booking` (an engine.Booking) in one round trip; a lead whose
    time has passed gets none."""
    if not booking.openid:
        return  # booked by phone or on the web: no WeChat user to remind, so nothing was ever scheduled
    pipe = store.client().pipeline(transaction=True)
    for lead, before in LEADS.items():
        due_at = booking.starts_at - before
        if not booking.active or due_at <= now:
            queue.unschedule(REMINDER, f"{booking.code}:{lead}", pipe)
            continue
        payload = {"code": booking.code, "lead": lead, "starts_at": booking.starts_at.isoformat()}
        queue.schedule(REMINDER, f"{booking.code}:{lead}", due_at, payload, pipe)
    pipe.execute()


def text(booking, lead: str) -> str:
    """The reminder `lead` ("24h" or "2h") before `booking`."""
    return wording.reminder(booking.office_name, lead, booking.date, booking.time, booking.code)
