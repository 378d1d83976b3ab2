"""结婚登记预约 by chat: the entry points the router calls (issue 3).

Booking, looking up, cancelling, moving and checking in, all in the chat's words; the dialogue
itself (office → date → slot → both applicants → summary → “确认”) is handlers/booking_steps.py,
the wording handlers/booking_text.py. Check-in QR codes carry the scene "checkin:<office id>";
staff print one per office.
"""

from datetime import datetime

from bot.bookings import engine, slots
from bot.messages import TEXT, Inbound, Session
from bot.replies import Text
from handlers import booking_steps as steps
from handlers import booking_text as say
from handlers.booking_steps import BOOK, CANCEL, FLOW, RESCHEDULE, WAITLIST
from knowledge import offices

# Staff print one QR code per office with this scene; WeChat prefixes "qrscene_" when the scan also follows.
CHECKIN_SCENE = "checkin:"

# ---- entry points the router calls ------------------------------------------------------------


def start(message: Inbound, session: Session) -> Text:
    """预约 from the menu or free text; whatever the first message already says is taken."""
    now = message.received_at
    if not (session.flow == FLOW and session.data.get("goal") in (BOOK, WAITLIST) and message.kind == TEXT):
        steps.begin(session, BOOK)
    steps.absorb(message.text, session, now)
    active = engine.active_for_openid(message.openid)
    lead = say.already_has_booking(active) if active else "好的，我们来预约结婚登记（疫情期间错峰办理）。"
    return _lead(lead, session, now)


def continue_flow(message: Inbound, session: Session) -> Text | None:
    """The answer to the question just asked; None when the text is not one (the router answers it)."""
    reply = steps.answer(message, session)
    return Text(reply) if reply is not None else None


def resume_prompt(session: Session) -> str:
    return steps.ask_next(session, datetime.fromisoformat(session.data["at"]))


def my_booking(message: Inbound, session: Session) -> Text:
    return Text(say.my_bookings(engine.active_for_openid(message.openid)))


def cancel(message: Inbound, session: Session) -> Text:
    return _manage(message, session, CANCEL, "好的。")


def reschedule(message: Inbound, session: Session) -> Text:
    return _manage(message, session, RESCHEDULE, "好的，我们来改约：先选新的日期和时段，确认后原时段才会释放。")


def ceremony(message: Inbound, session: Session) -> Text:
    # Staff may switch epidemic mode off in the console at any time: read the switch, not just the environment.
    return Text(slots.ceremony_notice(slots.rules()) or say.CEREMONY_HELD)


def nearby(message: Inbound, session: Session) -> Text:
    """A location: the nearest three offices, numbered; the booking (or move) goes on with the one picked."""
    now = message.received_at
    if not (session.flow == FLOW and session.data.get("goal") != CANCEL):
        steps.begin(session, BOOK)
    for forgotten in ("office_id", "city"):
        session.data.pop(forgotten, None)
    nearest = offices.current().nearest(message.latitude, message.longitude, 3)
    session.data["nearby"] = [[office.id, round(km, 1)] for office, km in nearest]
    session.data["at"] = now.isoformat()
    return Text(steps.ask_next(session, now))


def scan(message: Inbound, session: Session) -> Text | None:
    """A registry's check-in QR code (scene "checkin:<office id>"); None for any other scene."""
    scene = message.key.removeprefix("qrscene_")
    if not scene.startswith(CHECKIN_SCENE):
        return None
    office = offices.current().get(scene.removeprefix(CHECKIN_SCENE))
    if office is None:
        return Text(say.BAD_CHECKIN_CODE)
    outcome = engine.check_in_for_openid(message.openid, office.id, now=message.received_at)
    if outcome.kind == engine.NOT_FOUND:
        return Text(say.NO_CHECKIN_BOOKING)
    if outcome.kind == engine.CHECKED_IN:
        return Text(say.checked_in(outcome.booking, outcome.message))
    return Text(f"{outcome.message}。")


# ---- small helpers ------------------------------------------------------------------------------


def _manage(message: Inbound, session: Session, goal: str, lead: str) -> Text:
    """取消预约 / 改约: the user's active bookings; one is taken at once, several are listed to pick from."""
    active = engine.active_for_openid(message.openid)
    if not active:
        return Text(say.NO_BOOKING)
    now = message.received_at
    steps.begin(session, goal)
    if len(active) == 1:
        session.data.update(code=active[0].code, office_id=active[0].office_id)
        if goal == RESCHEDULE:
            steps.absorb(message.text, session, now)  # "改约到下周四上午"
    return _lead(lead, session, now)


def _lead(lead: str, session: Session, now: datetime) -> Text:
    session.data["at"] = now.isoformat()
    return Text(f"{lead}\n\n{steps.ask_next(session, now)}")
