"""Booking reminders, 24 hours and 2 hours before the slot.

The booking engine calls plan() after a booking is made, moved or given to a waiting couple, and
cancel() after one is cancelled. Each reminder is one queue item keyed "<code>:24h" / "<code>:2h",
so planning again replaces the old time and cancelling removes it. When a reminder comes due it
reads the booking again and says nothing unless the booking is still confirmed for that same slot,
so even a change that never reached plan()/cancel() leaves no stale reminder.
"""

from datetime import datetime, timedelta

from bot import bookings, outbound, store
from scheduler import queue

REMINDER = "reminder"
LEADS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
LEAD_WORDS = {"24h": "明天", "2h": "今天"}


def plan(booking: bookings.Booking, now: datetime) -> None:
    """(Re)schedule both reminders, in one round trip; a lead whose time has passed gets none."""
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


def cancel(code: str) -> None:
    pipe = store.client().pipeline(transaction=True)
    for lead in LEADS:
        queue.unschedule(REMINDER, f"{code}:{lead}", pipe)
    pipe.execute()


def send_reminder(payload: dict, now: datetime) -> None:
    booking = bookings.get(payload["code"])
    planned_start = datetime.fromisoformat(payload["starts_at"])
    if not booking or not booking.active or booking.starts_at != planned_start or now >= booking.starts_at:
        return  # cancelled, moved, or the scheduler was down past the slot: a reminder would mislead
    lead = payload["lead"]
    when = f"{booking.date.month}月{booking.date.day}日 {booking.time}"
    text = (
        f"【婚姻登记预约提醒】您预约的{booking.office_name}婚姻登记时间为{LEAD_WORDS[lead]} {when}，"
        f"确认码 {booking.code}。请双方携带本人身份证、佩戴口罩按时到场；不能前往请回复“取消预约”。"
    )
    template_data = {"office": booking.office_name, "time": when, "code": booking.code}
    # The slot is part of the key: a booking moved after its first reminder gets reminded of the new time.
    key = f"{booking.code}:reminder_{lead}:{booking.date.isoformat()}T{booking.time}"
    outbound.send(booking.openid, f"reminder_{lead}", key, text, template_data, now=now)
