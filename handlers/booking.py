"""结婚登记预约 by chat: the entry points the router calls (issue 3).

Booking, looking up, cancelling, moving and checking in, all in the chat's words; the dialogue
itself (office → date → slot → both applicants → summary → “确认”) is handlers/booking_steps.py,
the wording handlers/booking_text.py. Check-in QR codes carry the scene "checkin:<office id>";
staff print one per office.
"""

from datetime import datetime

from bot.bookings import dates, engine, idcard, slots
from bot.messages import TEXT, Inbound, Session
from bot.replies import Text
from handlers import booking_steps as steps
from handlers import booking_text as say
from handlers import general
from handlers.booking_steps import BOOK, CANCEL, FLOW, RESCHEDULE, WAITLIST, active_bookings
from knowledge import offices
from knowledge.normalize import compact

# Staff print one QR code per office with this scene; WeChat prefixes "qrscene_" when the scan also follows.
CHECKIN_SCENE = "checkin:"
# A location further than this from every registry is not in Hunan (county seats are far closer).
OUTSIDE_HUNAN_KM = 80
_NAME_CHARS = 4  # what may come with an ID number in a message that is only applicant data

# ---- entry points the router calls ------------------------------------------------------------


def start(message: Inbound, session: Session) -> Text:
    """预约 from the menu or free text; whatever the first message already says is taken."""
    now = message.received_at
    if not (session.flow == FLOW and session.data.get("goal") in (BOOK, WAITLIST) and message.kind == TEXT):
        steps.begin(session, BOOK)
    named = steps.absorb(message.text, session, now)
    kept = steps.keep_applicants(message.text, session)  # "…我叫张伟 身份证4301…"
    active = active_bookings(session)
    lead = say.already_has_booking(active) if active else "好的，我们来预约结婚登记（疫情期间错峰办理）。"
    elsewhere = None if steps.has_office(session) else offices.current().outside_hunan(message.text)
    if elsewhere:  # "杭州的婚姻登记处怎么预约": not an office 1000 km away, and not silence either
        lead = say.named_outside_hunan(elsewhere)
    return _lead(lead, session, now, show_taken=named, kept=kept)


def continue_flow(message: Inbound, session: Session) -> Text | None:
    """The answer to the question just asked; None when the text is not one (the router answers it)."""
    reply = steps.answer(message, session)
    return Text(reply) if reply is not None else None


def resume_prompt(session: Session) -> str:
    return steps.ask_next(session, datetime.fromisoformat(session.data["at"]))


def my_booking(message: Inbound, session: Session) -> Text:
    active = active_bookings(session)
    return Text(say.my_bookings(active)) if active else _no_booking(message, session, goal=None)


def leave(message: Inbound, session: Session) -> Text:
    """取消/算了/退出 alone. In a flow: leave it, and say a booking the user has is still kept.
    Outside one, with a booking: ask whether to cancel it — a couple must never think it is gone."""
    active = active_bookings(session)
    if session.flow is None:
        if not active:
            return general.leave_free_chat(session)
        return _manage(message, session, CANCEL)
    session.leave()
    kept = [say.still_kept(active)] if active else []
    return Text("\n".join(["好的，已退出当前操作。", *kept, "回复“帮助”查看菜单。"]))


def is_applicant_data(text: str) -> bool:
    """A message that is a valid ID number (perhaps with a name): an applicant's, never a payment
    or a question, whatever step the user is at."""
    number = steps.valid_id_in(text)
    return number is not None and len(compact(idcard.canonical(text).replace(number, ""))) <= _NAME_CHARS


def fixes_after_booking(message: Inbound, session: Session) -> Text | None:
    """ "我老婆身份证号填错了" with a booking made and no flow open: a confirmed booking's applicants
    are not edited (the engine checked that couple), so say how to put it right; None otherwise."""
    if session.flow is not None or not steps.asks_to_correct_an_applicant(message.text):
        return None
    active = active_bookings(session)
    if not active:
        return None
    return Text("\n".join([say.APPLICANTS_ARE_FIXED, *(say.booking_line(b) for b in active)]))


def applicant_data(message: Inbound, session: Session) -> Text:
    """An ID number outside a booking: nothing to fill in; not kept, not logged, never a payment."""
    return Text(say.STRAY_ID_NUMBER)


def cancel(message: Inbound, session: Session) -> Text:
    return _manage(message, session, CANCEL)


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
    session.data["at"] = now.isoformat()
    if nearest[0][1] > OUTSIDE_HUNAN_KM:
        return Text(f"{say.outside_hunan(nearest[0][1])}\n{steps.ask_next(session, now)}")
    session.data["nearby"] = [[office.id, round(km, 1)] for office, km in nearest]
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


def _manage(message: Inbound, session: Session, goal: str, lead: str = "") -> Text:
    """取消预约 / 改约: the user's active bookings; one is taken at once, several are listed to pick from."""
    active = active_bookings(session)
    if not active:
        return _no_booking(message, session, goal)
    now = message.received_at
    steps.begin(session, goal)
    if len(active) == 1:
        session.data.update(code=active[0].code, office_id=active[0].office_id)
        if goal == RESCHEDULE:
            named = steps.absorb(message.text, session, now)  # "改约到下周四上午"
            if "date" not in session.data and (shift := dates.moved_by(message.text)):
                # "提前一天": from the booked day, at the booked time unless the words name another
                session.data["date"] = (active[0].date + shift).isoformat()
                if "half" not in session.data and "time" not in session.data:
                    session.data["time"] = active[0].time
                named = True
            if session.data["office_id"] == active[0].office_id and _asks_another_office(message.text):
                del session.data["office_id"]  # "想换个登记处": which one is the next question
            if "date" not in session.data and (session.data.get("half") or session.data.get("time")):
                session.data["date"] = active[0].date.isoformat()  # "改成下午": the same day, later
            return _lead(lead, session, now, show_taken=named)
    return _lead(lead, session, now)


_ANOTHER_OFFICE_WORDS = ("换个登记处", "换登记处", "别的登记处", "其他登记处", "换个地方", "换地方", "换个区", "别的区")


def _asks_another_office(text: str) -> bool:
    words = compact(text)
    return any(phrase in words for phrase in _ANOTHER_OFFICE_WORDS)


def _no_booking(message: Inbound, session: Session, goal: str | None) -> Text:
    """Cancel, move or look up without a booking: say so, and offer to book (a digit starts it).
    Half-way through a new one, "不约了" is asked whether to drop the draft, and asking to see or
    move the booking hears it is not made yet; then the open question again."""
    if session.flow == FLOW and session.data.get("goal") in (BOOK, WAITLIST):
        # "不约了" is asked back, not obeyed: a draft lost to a misread message cannot be got back.
        lead = say.DROP_DRAFT_QUESTION if goal == CANCEL else say.NOT_SUBMITTED
        return Text(f"{lead}\n{steps.ask_next(session, message.received_at)}")
    session.offer(general.INTENT_CHOOSER, [{"intent": "booking"}])
    return Text(say.NO_BOOKING)


def _lead(lead: str, session: Session, now: datetime, show_taken: bool = False, kept: str = "") -> Text:
    """`lead`, then the next question; `show_taken`: the message named an office, day or time, so
    say how it was read (after the question is chosen, which drops a day that cannot be booked);
    `kept`: the applicant data it carried, said the same way."""
    session.data["at"] = now.isoformat()
    question = steps.ask_next(session, now)
    taken = "\n".join(line for line in (steps.taken_so_far(session) if show_taken else "", kept) if line)
    return Text("\n\n".join(part for part in (lead, taken, question) if part))
