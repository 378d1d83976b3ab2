"""Booking reminders, 24 hours and 2 hours before the slot.

The booking engine calls plan() when a booking is made or moved and cancel() when it is cancelled,
in the same code path as the change itself. Each reminder is one queue item keyed by booking code
and lead ("<code>:24h"), so planning again replaces the old time and cancelling removes it: a moved
or cancelled booking has no stale reminder left to fire. The same key is the message's idempotency
key, so a reminder reaches the user at most once however many schedulers run.
"""

from datetime import datetime, timedelta

from bot import outbound
from scheduler import queue

REMINDER = "reminder"
LEADS = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}
LEAD_WORDS = {"24h": "明天", "2h": "两小时后"}


def plan(code: str, openid: str, starts_at: datetime, office: str, now: datetime) -> None:
    """(Re)schedule both reminders for a booking; a lead whose time has already passed is dropped."""
    for lead, before in LEADS.items():
        due_at = starts_at - before
        if due_at <= now:
            queue.unschedule(REMINDER, f"{code}:{lead}")
            continue
        payload = {"code": code, "lead": lead, "openid": openid, "starts_at": starts_at.isoformat(), "office": office}
        queue.schedule(REMINDER, f"{code}:{lead}", due_at, payload)


def cancel(code: str) -> None:
    for lead in LEADS:
        queue.unschedule(REMINDER, f"{code}:{lead}")


def send_reminder(payload: dict, now: datetime) -> None:
    starts_at = datetime.fromisoformat(payload["starts_at"])
    if now >= starts_at:
        return  # the scheduler was down past the slot: a reminder now would only confuse
    when = f"{starts_at.month}月{starts_at.day}日 {starts_at:%H:%M}"
    text = (
        f"【婚姻登记预约提醒】您预约的{payload['office']}婚姻登记时间为{LEAD_WORDS[payload['lead']]}（{when}），"
        f"预约码 {payload['code']}。请按时到场；如需改约或取消，请在本公众号内操作。"
    )
    template_data = {"office": payload["office"], "time": when, "code": payload["code"]}
    outbound.send(
        payload["openid"],
        f"reminder_{payload['lead']}",
        f"{payload['code']}:{REMINDER}_{payload['lead']}",
        text,
        template_data,
        now=now,
    )
