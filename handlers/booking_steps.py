"""The booking dialogue's steps: read the answer to the question last asked, and ask the next one.

The dialogue fills gaps instead of marching through steps: whatever a message names (an office,
a date, a half-day, a time) is kept, and the next question is the first thing still missing
(`ask_next`). So "下周三上午在芙蓉区登记结婚" goes straight to that morning's slots, "改日期" only
forgets the date, and a correction never loses the rest. Every rule (window, calendar, closures,
capacity, eligibility, cutoff) belongs to bot/bookings/slots.py, bot/bookings/applicants.py or the engine; this
module asks, shows and passes their answers on. The wording lives in handlers/booking_text.py.

Session data while session.flow == "booking":
  goal       book | waitlist | reschedule | cancel
  step       what the last reply asked: office, date, slot, name, id, confirm, pick, which (applicant
             a correction is about)
  who        0 or 1: the applicant a name/id step is about
  office_id, city, nearby, date (ISO), half (上午/下午), time (HH:MM), code (reschedule/cancel)
  people     the applicants typed so far, encrypted: names and ID numbers are personal data
  (the numbered list last shown is session.choices; picking item n merges its fields into the data)
  tries      failed attempts per applicant field ("id1": 2)
  draft      this attempt's id, the engine's idempotency key: a repeated “确认” books once
  at         the last message's time, so resume_prompt (which gets no message) sees the same day
"""

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from bot.bookings import applicants, calendar, dates, engine, idcard, slots, wording
from bot.messages import Inbound, Session
from bot.replies import numbered
from handlers import booking_text as say
from handlers import general, handbook
from knowledge import offices
from knowledge.normalize import compact, is_question, normalize

FLOW = "booking"
BOOK, WAITLIST, RESCHEDULE, CANCEL = "book", "waitlist", "reschedule", "cancel"
OFFICE, DATE, SLOT, NAME, ID, CONFIRM, PICK, WHICH = "office", "date", "slot", "name", "id", "confirm", "pick", "which"

MAX_TRIES = 3

# Yes, in Hunan (要得, 冇问题) and Cantonese words too (系/啱/得: 係, 啱, 得 as `compact` gives them).
_YES = {
    "确认", "确定", "确认预约", "确认提交", "提交", "是", "是的", "对", "对的", "好", "好的", "好嘞", "可以", "可以的",
    "行", "没问题", "冇问题", "要得", "没错", "冇错", "系", "系啊", "啱", "啱啊", "得", "ok", "yes",
    "嗯", "嗯嗯", "恩", "恩恩",  # 恩: the pinyin keyboard's first choice for "en"
}  # fmt: skip
_RETRY = {"重试", "再试", "再试一次", "重新填", "重新填写"}
_LATER_WORDS = ("等下", "等一下", "等会", "稍等", "待会", "一会", "晚点", "回头", "马上", "等等")
_WAITLIST_WORDS = ("候补", "排队", "等空位")
# Going back: the words, and the answers they forget (everything else is kept).
_BACK = {
    ("改日期", "换日期", "换一天", "改日子"): ("date", "time"),
    ("改时间", "换时间", "改时段", "换时段"): ("time", "half"),
    ("改登记处", "换登记处", "换个登记处", "改地点", "换地方"): ("office_id", "city", "nearby"),
    ("改申请人", "改姓名", "改身份证", "改身份证号"): ("people", "tries"),
}
_ID_NUMBER = re.compile(r"\d{15,}[Xx]?")  # a long run of digits is an attempt at an ID number
_ID_ATTEMPT = re.compile(r"(?<!\d)\d{17}X")  # ... and 17 digits then X can be nothing else

# Corrections at the summary, in plain words: "第二个人身份证输错了，应该是…", "名字打错了".
_FIELD_WORDS = (("id_number", ("身份证", "证件", "号码", "证号")), ("name", ("名字", "姓名", "名")))
_WRONG_WORDS = ("错", "不对", "有误", "改", "应该是", "应为", "换")
_WHO_WORDS = ((0, ("第一", "第1", "一号", "前一")), (1, ("第二", "第2", "二号", "后一")))
_SEX_WORDS = (
    ("男", ("男方", "新郎", "老公", "丈夫", "男的", "先生")),
    ("女", ("女方", "新娘", "老婆", "妻子", "女的", "媳妇", "太太")),
)
_NEW_VALUE = re.compile(r"(?:应该是|应为|改成|改为|换成|正确的是|是|叫)[:：\s]*([^\s，。,.!！]+)[\s，。,.!！]*$")
# Plain words that a day, a time or an office was wrong, with nothing new named: ask for it again.
_WRONG_CHOICE = {
    ("日期", "日子", "哪天", "那天"): ("date", "time"),
    ("时间", "时段", "几点", "钟点"): ("time", "half"),
    ("登记处", "地点", "地方"): ("office_id", "city", "nearby"),
}


# ---- what handlers/booking.py calls (with ask_next and absorb below) ---------------------------


def begin(session: Session, goal: str) -> None:
    """Start the dialogue afresh; a booking gets a new draft id (its idempotency key)."""
    session.start(FLOW, goal=goal, **({"draft": secrets.token_hex(8)} if goal == BOOK else {}))


def answer(message: Inbound, session: Session) -> str | None:
    """The reply to an answer of the question last asked; None when the text is not one."""
    now = message.received_at
    session.data["at"] = now.isoformat()
    text = compact(message.text)
    step = _STEPS.get(session.data.get("step", ""))
    return (
        _go_back(text, session, now)
        or _early_applicants(message, session, now)
        or _yes_before_the_summary(text, session, now)
        or _correction_before_the_summary(message, text, session, now)
        or (step(message, text, session, now) if step else None)
        or _early_name(message, session, now)
    )


def active_bookings(session: Session) -> list[engine.Booking]:
    """The user's active bookings, read once per message (session.turn is never saved), from the
    booking codes the turn's first script read (bot/chat/turns.py) while they are current."""
    if "active" not in session.turn:
        session.turn["active"] = engine.active_for_openid(session.openid, session.turn.get("booking_codes"))
    return session.turn["active"]


def _forget_bookings(session: Session) -> None:
    """This message changed the user's bookings: what the turn read of them is out of date."""
    session.turn.pop("active", None)
    session.turn.pop("booking_codes", None)


def valid_ids_in(text: str) -> list[str]:
    """The valid ID numbers in the text (checksum, region and birth date right), canonical, in order."""
    return [
        n for n in dict.fromkeys(m.group() for m in _ID_NUMBER.finditer(idcard.canonical(text))) if idcard.is_valid(n)
    ]


def valid_id_in(text: str) -> str | None:
    return next(iter(valid_ids_in(text)), None)


# ---- the steps: each reads the answer to its own question -------------------------------------


def has_office(session: Session) -> bool:
    """An office, a city or nearby offices are chosen or offered."""
    return any(session.data.get(field) for field in ("office_id", "city", "nearby"))


def _office_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    choice = _pick(text, session)
    if choice:
        session.data.update(choice)
        return ask_next(session, now)
    if absorb(message.text, session, now):
        # "听日下昼" before the office: kept, and said so, or it looks ignored. (The question is
        # chosen first: it drops a day that cannot be booked.)
        question = ask_next(session, now)
        return f"{taken_so_far(session)}\n{question}"
    elsewhere = offices.current().outside_hunan(message.text)
    return f"{say.named_outside_hunan(elsewhere)}\n{ask_next(session, now)}" if elsewhere else None


def _date_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    choice = _pick(text, session)
    if choice:
        session.data.update(choice)
        session.data.pop("time", None)
        return ask_next(session, now)
    if dates.parse_when(message.text, now).soonest:
        return _earliest_day(message, session, now)
    if absorb(message.text, session, now):
        if "date" not in session.data and session.data.get("half"):  # "上午" before the day: keep it
            return f"好的，{session.data['half']}。还要选一天：\n{ask_next(session, now)}"
        return ask_next(session, now)
    unclear = dates.parse_when(message.text, now).unclear
    if unclear:  # "月底前": a time, but not one day — ask again, with examples, rather than guess
        return _failed(session, "date", f"“{unclear}”还定不下具体哪一天，请说一个日期，比如{dates.EXAMPLES}", now)
    return None


def _earliest_day(message: Inbound, session: Session, now: datetime) -> str:
    """ "尽快", "最早哪天": the date list just shown starts with the first day that has room."""
    earliest, office = _pick("1", session), session.data.get("office_id")
    absorb(message.text, session, now)  # "尽快，上午": the half-day is kept too
    if earliest is None or session.data.get("office_id") != office:  # another office: its own days
        return ask_next(session, now)
    session.data.update(earliest)
    session.data.pop("time", None)
    return f"好的，最早能约的是{wording.day_cn(date.fromisoformat(earliest['date']))}。\n{ask_next(session, now)}"


def _slot_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    data = session.data
    choice = _pick(text, session)
    if choice:
        data.update(choice)
        return ask_next(session, now)
    if any(word in text for word in _WAITLIST_WORDS):
        if data["goal"] == RESCHEDULE:
            return "改约不能候补，请选一个还有名额的时段。\n" + ask_next(session, now)
        data["goal"], data["half"] = WAITLIST, dates.parse_when(message.text, now).half or ""
        data.pop("time", None)
        return ask_next(session, now)
    return ask_next(session, now) if absorb(message.text, session, now) else None


def _name_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    if text in _RETRY:
        return ask_next(session, now)
    who, flat = session.data["who"], idcard.canonical(message.text)
    number = _ID_NUMBER.search(flat)
    asks = is_question(message.text)
    try:
        name = applicants.validate_name(
            applicants.without_introduction(_ID_NUMBER.sub("", flat) if number else message.text)
        )
    except applicants.InvalidName as reason:
        if asks or handbook.looks_like_question(message.text):
            return None
        return _failed(session, f"name{who}", f"{applicants.ORDINALS[who]}申请人的{reason}", now)
    if asks or general.small_talk_line(message.text) or applicants.reads_as_words(name):
        return None  # "口罩怎么戴" would pass as a five-character name, "谢谢" or "候补" as two-character ones
    _update_person(session, who, name=name)
    if number:  # "张三 430102…" in one message
        return _id_step(message, number.group(), session, now)
    return ask_next(session, now)


def _id_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    who, typed = session.data["who"], idcard.canonical(message.text)
    if text in _RETRY:
        return ask_next(session, now)
    asks = is_question(message.text) or handbook.looks_like_question(message.text)
    if not any(c.isdigit() for c in typed):
        # "身份证我等下发" is no ID number of thirteen characters: nothing to check yet.
        if asks:
            return None
        later = any(word in typed for word in _LATER_WORDS)
        lead = "好的，不着急，准备好后直接发过来就行。" if later else "这一步需要身份证号（18位）。"
        return f"{lead}\n{ask_next(session, now)}"
    found = _ID_NUMBER.search(typed)
    number = found.group() if found else typed
    try:
        idcard.parse(number)
    except idcard.InvalidIdNumber as reason:
        return _failed(session, f"id{who}", f"{applicants.ORDINALS[who]}申请人的{reason}", now)
    _update_person(session, who, id_number=idcard.canonical(number))
    people = _people(session)
    if len(people) == 2 and all(p.get("id_number") for p in people):
        errors = applicants.check_couple(people, date.fromisoformat(session.data["date"]))
        if errors:
            return _refuse_fields(session, errors, "；".join(errors.values()), now, count_tries=True)
    return ask_next(session, now)


def _confirm_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    if text in _YES:
        return _SUBMIT[session.data["goal"]](message, session, now)
    if session.data["goal"] == CANCEL:
        return None
    corrected = _correct_applicant(message, text, session, now)
    if corrected is not None:
        return corrected
    if absorb(message.text, session, now):
        return ask_next(session, now)  # "改到明天下午" at the summary
    return _wrong_choice(text, session, now)


def _which_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    """The answer to "which applicant's name (or ID) is wrong?": forget it and ask for it again."""
    choice = _pick(text, session)
    field = session.data.get("fixing", "")
    who = choice["who"] if choice else _who_from_words(text, _people(session))
    if who is None or not field:
        return None
    session.data.pop("fixing", None)
    return _forget_applicant_field(session, who, field, now)


def _pick_step(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    choice = _pick(text, session)
    if choice is None:
        return None
    session.data.update(choice)
    if session.data["goal"] == RESCHEDULE:
        session.data["office_id"] = engine.get(choice["code"]).office_id
    return ask_next(session, now)


_STEPS = {
    OFFICE: _office_step,
    DATE: _date_step,
    SLOT: _slot_step,
    NAME: _name_step,
    ID: _id_step,
    CONFIRM: _confirm_step,
    PICK: _pick_step,
    WHICH: _which_step,
}


# ---- corrections and early answers --------------------------------------------------------------


def keep_applicants(text: str, session: Session) -> str:
    """Applicant data anywhere in a message: valid ID numbers and the names introduced ("我叫张伟，
    她叫李娜") or typed beside a number ("张伟 4301…"), kept for the applicants still without them;
    what was kept, as one line ("" when nothing)."""
    numbers = valid_ids_in(text)
    names = applicants.introduced_names(text)
    if not names and len(numbers) == 1:
        try:
            names = [applicants.validate_name(idcard.canonical(text).replace(numbers[0], ""))]
        except applicants.InvalidName:
            pass
    if len(names) == 1 and len(numbers) == 1:  # one person's name and number
        return _keep(session, [{"name": names[0], "id_number": numbers[0]}])
    return _keep(session, [{"name": name} for name in names] + [{"id_number": number} for number in numbers])


def _keep(session: Session, persons: list[dict]) -> str:
    """Each person's fields for the applicant of that name, else the first still missing them all."""
    kept = {}
    for person in persons:
        people = _people(session)
        named = [i for i, p in enumerate(people) if person.get("name") and p.get("name") == person["name"]]
        free = [i for i in (0, 1) if i >= len(people) or not any(people[i].get(f) for f in person)]
        who = (named or free or [None])[0]
        if who is not None:
            _update_person(session, who, **person)
            kept.setdefault(who, {}).update(person)
    lines = []
    for who, fields in sorted(kept.items()):
        what = "和".join(label for field, label in (("name", "姓名"), ("id_number", "身份证号")) if field in fields)
        lines.append(f"{applicants.ORDINALS[who]}申请人的{what}" + (f"：{fields['name']}" if "name" in fields else ""))
    return f"已记下{'；'.join(lines)}。" if lines else ""


def _asking_before_the_applicants(session: Session) -> bool:
    """A new booking whose office, day or time is being asked: applicant data comes early."""
    return session.data.get("goal") in (BOOK, WAITLIST) and session.data.get("step") in (OFFICE, DATE, SLOT)


def _early_applicants(message: Inbound, session: Session, now: datetime) -> str | None:
    """Applicant data before its question (at the office, date or slot step): kept, then the
    question still open is asked; an ID number ending in X that fails its check (no bank card ends
    in X) is told what is wrong with it."""
    if not _asking_before_the_applicants(session):
        return None
    kept = keep_applicants(message.text, session)
    if kept:
        named = absorb(message.text, session, now)  # "岳麓区 下周一 我叫张伟 身份证4301…": kept too
        question = ask_next(session, now)  # asked first: it drops a day that cannot be booked
        return "\n".join(line for line in (taken_so_far(session) if named else "", kept, question) if line)
    attempt = _ID_ATTEMPT.search(idcard.canonical(message.text))
    who = _first_without(_people(session), "id_number")
    if attempt is None or who is None:
        return None
    try:
        idcard.parse(attempt.group())
    except idcard.InvalidIdNumber as reason:
        return f"{applicants.ORDINALS[who]}申请人的{reason}。\n{ask_next(session, now)}"
    return None


def _early_name(message: Inbound, session: Session, now: datetime) -> str | None:
    """A lone name ("张三") typed while the office, day or time is still being asked, and no answer
    to that question: the first applicant still without a name, then the open question again."""
    if not _asking_before_the_applicants(session):
        return None
    name = applicants.persons_name(message.text)
    kept = _keep(session, [{"name": name}]) if name else ""
    return f"{kept}\n{ask_next(session, now)}" if kept else None


def _first_without(people: list[dict], field: str) -> int | None:
    """The first applicant (0 or 1) whose `field` is still missing; None when both have it."""
    return next((i for i in (0, 1) if i >= len(people) or not people[i].get(field)), None)


def _yes_before_the_summary(text: str, session: Session, now: datetime) -> str | None:
    """ "确认" / "好的" before there is anything to confirm: never a name, never "no booking" —
    say what is still missing."""
    if text not in _YES or session.data.get("step") == CONFIRM:
        return None
    return f"还差一点信息才能确认：\n{ask_next(session, now)}"


def _correction_before_the_summary(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    """ "第一个名字错了，应该是王晓明" while the booking is still being filled in: corrected as at the summary."""
    if session.data.get("step") in (CONFIRM, WHICH) or not any(w in text for w in _WRONG_WORDS):
        return None
    return _correct_applicant(message, text, session, now) if _people(session) else None


def asks_to_correct_an_applicant(text: str) -> bool:
    """ "身份证号填错了", "还能改名字吗": the words of a correction to an applicant's name or ID number."""
    words = compact(text)
    named = any(word in words for _field, field_words in _FIELD_WORDS for word in field_words)
    return named and any(word in words for word in _WRONG_WORDS)


def _correct_applicant(message: Inbound, text: str, session: Session, now: datetime) -> str | None:
    """ "第二个人身份证输错了，应该是…", "名字打错了": change only what is named, then the summary again."""
    new_id = valid_id_in(message.text)
    field = "id_number" if new_id else next((f for f, words in _FIELD_WORDS if any(w in text for w in words)), None)
    if field is None or not (new_id or any(w in text for w in _WRONG_WORDS)):
        return None
    people = _people(session)
    new_name = _new_name(message.text) if field == "name" else None
    who = _who_from_words(text, people)
    if who is None:
        who = _who_by_value(people, new_id, new_name)
    if who is None:
        choices = [{"who": i} for i in range(len(people))]
        session.data["fixing"] = field
        what = "身份证号" if field == "id_number" else "姓名"
        lines = [f"{applicants.ORDINALS[i]}申请人 {p.get('name', '')}" for i, p in enumerate(people)]
        return _ask(session, WHICH, "\n".join([f"是哪一位申请人的{what}要改？回复数字：", *numbered(lines)]), choices)
    if new_id:
        _update_person(session, who, id_number=new_id)
        day = session.data.get("date")  # no day yet: the engine checks the couple when it books
        errors = applicants.check_couple(_people(session), date.fromisoformat(day)) if day else {}
        if errors:
            return _refuse_fields(session, errors, "；".join(errors.values()), now)
        return f"好的，已改好{applicants.ORDINALS[who]}申请人的身份证号。\n{ask_next(session, now)}"
    if new_name:
        _update_person(session, who, name=new_name)
        return f"好的，已改好{applicants.ORDINALS[who]}申请人的姓名。\n{ask_next(session, now)}"
    return _forget_applicant_field(session, who, field, now)


def _forget_applicant_field(session: Session, who: int, field: str, now: datetime) -> str:
    people = _people(session)
    people[who].pop(field, None)
    _keep_people(session, people)
    return ask_next(session, now)  # asks for exactly that field, then comes back to the summary


def _who_from_words(text: str, people: list[dict]) -> int | None:
    """第一位/第二位, or 男方/女方 (read from the ID numbers already given)."""
    for who, words in _WHO_WORDS:
        if any(w in text for w in words):
            return who
    for sex, words in _SEX_WORDS:
        if any(w in text for w in words):
            return _only([i for i, p in enumerate(people) if _sex(p.get("id_number", "")) == sex])
    return None


def _who_by_value(people: list[dict], new_id: str | None, new_name: str | None) -> int | None:
    """A new ID number replaces the applicant of its sex; a new name, the one whose name it most resembles."""
    if new_id:
        return _only([i for i, p in enumerate(people) if _sex(p.get("id_number", "")) == _sex(new_id)])
    if new_name:
        shared = [len(set(new_name) & set(p.get("name", ""))) for p in people]
        best = max(shared, default=0)
        return _only([i for i, n in enumerate(shared) if n == best]) if best else None
    return None


def _only(candidates: list[int]) -> int | None:
    return candidates[0] if len(candidates) == 1 else None


def _sex(id_number: str) -> str:
    try:
        return idcard.parse(id_number).sex
    except idcard.InvalidIdNumber:
        return ""


def _new_name(text: str) -> str | None:
    found = _NEW_VALUE.search(normalize(text))
    if not found:
        return None
    try:
        return applicants.validate_name(found.group(1))
    except applicants.InvalidName:
        return None


def _wrong_choice(text: str, session: Session, now: datetime) -> str | None:
    """ "日期不对" / "时间选错了" / "登记处错了": forget that choice and ask it again, keeping the rest."""
    if not any(w in text for w in _WRONG_WORDS):
        return None
    for words, forgotten in _WRONG_CHOICE.items():
        if any(w in text for w in words):
            for name in forgotten:
                session.data.pop(name, None)
            return ask_next(session, now)
    return None


# ---- submitting: one engine call, its outcome in the chat's words ------------------------------


def _submit_booking(message: Inbound, session: Session, now: datetime) -> str:
    data, office, day = session.data, _office(session), date.fromisoformat(session.data["date"])
    outcome = engine.book(
        office,
        day,
        data["time"],
        _people(session),
        now=now,
        channel=engine.WECHAT,
        openid=message.openid,
        idempotency_key=f"wechat:{data['draft']}",
        client=message.openid,
        rules=slots.rules(),
    )
    if outcome.kind == engine.CONFIRMED:
        session.leave()
        _forget_bookings(session)
        return say.booked(outcome.booking, office, _cutoff_cn(), slots.ceremony_notice(slots.rules()))
    return _refused(outcome, session, now)


def _submit_waitlist(message: Inbound, session: Session, now: datetime) -> str:
    data = session.data
    outcome = engine.join_waitlist(
        _office(session),
        date.fromisoformat(data["date"]),
        _people(session),
        now=now,
        half=data.get("half", ""),
        openid=message.openid,
        rules=slots.rules(),
    )
    if outcome.kind in (engine.WAITING, engine.ALREADY_WAITING):
        session.leave()
        return f"{outcome.message}。"
    return _refused(outcome, session, now)


def _submit_reschedule(message: Inbound, session: Session, now: datetime) -> str:
    data = session.data
    outcome = engine.reschedule(
        data["code"],
        _office(session),
        date.fromisoformat(data["date"]),
        data["time"],
        now=now,
        openid=message.openid,
        rules=slots.rules(),
    )
    if outcome.kind == engine.RESCHEDULED:
        session.leave()
        _forget_bookings(session)
        return say.rescheduled(outcome.booking)
    return _refused(outcome, session, now)


def _submit_cancel(message: Inbound, session: Session, now: datetime) -> str:
    outcome = engine.cancel(session.data["code"], now=now, openid=message.openid, rules=slots.rules())
    session.leave()
    _forget_bookings(session)
    if outcome.kind == engine.CANCELLED:
        return say.cancelled(outcome.booking)
    return f"{outcome.message}。"


_SUBMIT = {BOOK: _submit_booking, WAITLIST: _submit_waitlist, RESCHEDULE: _submit_reschedule, CANCEL: _submit_cancel}


def _refused(outcome: engine.Outcome, session: Session, now: datetime) -> str:
    """A refusal: a wrong field goes back to its question; anything else ends the dialogue."""
    if outcome.kind == engine.SLOT_FULL:
        data = session.data
        day, hhmm = date.fromisoformat(data["date"]), data.pop("time")
        return _offer_alternatives(session, day, hhmm, outcome.alternatives)
    if outcome.kind in (engine.INVALID, engine.CLOSED) and outcome.fields:
        return _refuse_fields(session, outcome.fields, outcome.message, now)
    if outcome.kind in (engine.ALREADY_BOOKED, engine.SUSPENDED) and session.data["goal"] in (BOOK, WAITLIST):
        return _keep_draft(outcome, session)
    session.leave()
    return f"{outcome.message}。"


def _keep_draft(outcome: engine.Outcome, session: Session) -> str:
    """A refusal the couple can fix (another booking holds an applicant, a suspension): everything
    typed is kept at the summary; the next message that changes it, or "确认" again, goes on."""
    data = session.data
    data["draft"] = secrets.token_hex(8)  # nothing was booked: the next “确认” is a new attempt
    data["step"] = CONFIRM
    if outcome.kind == engine.SUSPENDED:
        return say.suspended_keeping_draft(outcome.message)
    holder = outcome.booking
    people = _people(session)
    held = [i for i, p in enumerate(people) if holder and engine.matches_id(holder.code, p["id_number"])]
    return say.already_booked_keeping_draft(
        outcome.message, holder if holder and holder.openid == session.openid else None, held
    )


def _refuse_fields(session: Session, fields: dict[str, str], problem: str, now: datetime, count_tries=False) -> str:
    """Forget each answer `fields` names and ask for it again, after saying exactly what was wrong."""
    data, people = session.data, _people(session)
    tried_out = False
    for field in fields:
        if field in ("date", "time"):
            data.pop("time", None)
            if field == "date":
                data.pop("date", None)
            continue
        index = 1 if field == "applicants" else int(field[len("applicants[")])  # "applicants" = same sex
        kind = "name" if field.endswith(".name") else "id_number"
        if index < len(people):
            people[index].pop(kind, None)
        if count_tries:
            tried_out |= _count_try(session, f"{'name' if kind == 'name' else 'id'}{index}")
    _keep_people(session, people)
    lines = [f"{problem}。", say.TRY_LATER if tried_out else "", ask_next(session, now)]
    return "\n".join(line for line in lines if line)


def _offer_alternatives(session: Session, day: date, hhmm: str, alternatives) -> str:
    data = session.data
    data["step"] = SLOT
    session.offer(FLOW, [{"office_id": a.office_id, "date": a.date.isoformat(), "time": a.time} for a in alternatives])
    return say.slot_full(day, hhmm, alternatives, can_wait=data["goal"] != RESCHEDULE)


# ---- the form: its slots in the order they are asked ------------------------------------------


@dataclass
class Filling:
    """One walk over the form: the session, and what earlier slots looked up for later ones."""

    session: Session
    now: datetime
    office: offices.Office | None = None
    day: slots.DayAvailability | None = None

    @property
    def data(self) -> dict:
        return self.session.data


@dataclass(frozen=True)
class FormSlot:
    """One thing the form needs. `ask` returns its question while it is missing, None once filled."""

    name: str
    goals: frozenset[str]
    ask: Callable[[Filling], str | None]


def _code_question(f: Filling) -> str | None:
    if f.data.get("code"):
        return None
    active = active_bookings(f.session)
    question = say.ask_pick(active, "取消" if f.data["goal"] == CANCEL else "改约")
    return _ask(f.session, PICK, question, [{"code": b.code} for b in active])


def _office_question(f: Filling) -> str | None:
    f.office = _office(f.session)
    return _ask_office(f.session) if f.office is None else None


def _date_question(f: Filling) -> str | None:
    data = f.data
    if not data.get("date"):
        return _ask_date(f.session, f.office, f.now)
    f.day = engine.availability(f.office, date.fromisoformat(data["date"]), now=f.now, rules=slots.rules())
    if f.day.open:
        return None
    data.pop("date")
    data.pop("time", None)
    return say.closed_day(f.day.date, f.day.reason) + "\n" + _ask_date(f.session, f.office, f.now)


def _time_question(f: Filling) -> str | None:
    data, office, day = f.data, f.office, f.day
    if not data.get("time"):
        return _ask_slot(f.session, office, day, f.now)
    slot = day.slot(data["time"])
    if slot is None:
        reason = slots.slot_reason(office, day.date, data.pop("time"), f.now, slots.rules()) or "这个时段不能预约"
        return f"{reason}。\n" + _ask_slot(f.session, office, day, f.now)
    if not slot.remaining:
        alternatives = engine.alternatives(office, day.date, slot.time, now=f.now, rules=slots.rules())
        return _offer_alternatives(f.session, day.date, data.pop("time"), alternatives)
    return None


def _applicant_question(who: int, field: str) -> Callable[[Filling], str | None]:
    def question(f: Filling) -> str | None:
        people = _people(f.session)
        if who < len(people) and people[who].get(field):
            return None
        f.data["who"] = who
        return _ask(f.session, NAME, say.ask_name(who)) if field == "name" else _ask(f.session, ID, say.ask_id(who))

    return question


def _summary(f: Filling) -> str:
    data, office, day = f.data, f.office, f.day
    if data["goal"] == CANCEL:
        return _ask(f.session, CONFIRM, say.cancel_question(engine.get(data["code"])))
    if data["goal"] == RESCHEDULE:
        moving = engine.get(data["code"])
        return _ask(f.session, CONFIRM, say.reschedule_summary(moving, office, day.date, data["time"]))
    people = _people(f.session)
    names = [p["name"] for p in people]  # in full: the couple's own account checks the spelling
    numbers = [idcard.mask(p["id_number"]) for p in people]
    if data["goal"] == WAITLIST:
        return _ask(
            f.session,
            CONFIRM,
            say.waitlist_summary(office, day.date, data.get("half", ""), names, numbers, _where(office)),
        )
    return _ask(f.session, CONFIRM, say.summary(office, day.date, data["time"], names, numbers, _where(office)))


_ALL = frozenset({BOOK, WAITLIST, RESCHEDULE, CANCEL})
_NEW = frozenset({BOOK, WAITLIST})

# The booking form, as Rasa forms declare `required_slots`: asked in this order, each only for the
# goals it serves; the first missing one is the next question, so any answer may come early.
REQUIRED_SLOTS: tuple[FormSlot, ...] = (
    FormSlot("code", frozenset({RESCHEDULE, CANCEL}), _code_question),
    FormSlot("office", _ALL - {CANCEL}, _office_question),
    FormSlot("date", _ALL - {CANCEL}, _date_question),
    FormSlot("time", frozenset({BOOK, RESCHEDULE}), _time_question),
    *(
        FormSlot(f"applicants[{who}].{field}", _NEW, _applicant_question(who, field))
        for who in (0, 1)
        for field in ("name", "id_number")
    ),
    FormSlot("confirm", _ALL, _summary),
)


def ask_next(session: Session, now: datetime) -> str:
    """Ask for the first slot still missing, and remember it as the step the next message answers."""
    filling, goal = Filling(session, now), session.data["goal"]
    # The last slot (confirm) always asks, so a question is always found.
    return next(q for slot in REQUIRED_SLOTS if goal in slot.goals and (q := slot.ask(filling)) is not None)


def taken_so_far(session: Session) -> str:
    """The office, day and time the dialogue holds, in one line ("已记下：…"), so a user whose first
    message named them sees how it was read; "" when it holds none."""
    data, office = session.data, _office(session)
    parts = [office.name if office else data.get("city", "")]
    parts.append(wording.day_cn(date.fromisoformat(data["date"])) if data.get("date") else "")
    parts.append(data.get("time") or data.get("half", ""))
    named = [part for part in parts if part]
    return f"已记下：{'｜'.join(named)}。" if named else ""


def _ask(session: Session, step: str, question: str, choices: list | None = None) -> str:
    session.data["step"] = step
    if choices is not None:
        session.offer(FLOW, choices)
    return question


def _ask_office(session: Session) -> str:
    data, registry = session.data, offices.current()
    if data.get("nearby"):
        nearest = [(registry.get(office_id), km) for office_id, km in data["nearby"]]
        return _ask(
            session,
            OFFICE,
            say.ask_nearby(nearest, slots.nearby_rule(slots.rules())),
            [{"office_id": o.id} for o, _ in nearest],
        )
    if data.get("city"):
        in_city = registry.in_city(data["city"])
        return _ask(session, OFFICE, say.ask_office(data["city"], in_city), [{"office_id": o.id} for o in in_city])
    cities = registry.cities()
    return _ask(session, OFFICE, say.ask_city(cities), [{"city": city} for city in cities])


def _ask_date(session: Session, office: offices.Office, now: datetime) -> str:
    days = engine.availability_for(
        [(office, d) for d in slots.window_days(now, slots.rules())], now=now, rules=slots.rules()
    )
    return _ask(
        session,
        DATE,
        say.ask_date(office, days, _where(office)),
        [{"date": d.date.isoformat()} for d in days if d.open],
    )


def _ask_slot(session: Session, office: offices.Office, day: slots.DayAvailability, now: datetime) -> str:
    half = session.data.get("half", "")
    times = [s.time for s in day.slots if s.time in slots.times_in_half_day(office, half)]
    if not times:  # nothing left that half-day: show the whole day
        half, times = "", [s.time for s in day.slots]
    question = say.ask_slot(office, day, half, times)
    if day.peak:
        question = (
            say.peak_warning(day.date, day.peak, slots.quieter_days(day.date, now, slots.rules())) + "\n" + question
        )
    return _ask(session, SLOT, question, [{"time": t} for t in times])


# ---- reading answers ----------------------------------------------------------------------------


def absorb(text: str, session: Session, now: datetime) -> bool:
    """Keep the office, date, half-day and time the text names; True if it named any."""
    data, found = session.data, False
    named = offices.current().find(text)
    current = _office(session)
    if len(named) == 1 or (named and not (current and current.city == named[0].city)):
        found = True
        for forgotten in ("office_id", "city", "nearby"):
            data.pop(forgotten, None)
        if len(named) == 1:
            data["office_id"] = named[0].id
        else:
            data["city"] = named[0].city
    when = dates.parse_when(text, now)
    if when.date:
        data["date"], found = when.date.isoformat(), True
        data.pop("time", None)
    if when.half:
        if data.get("time") and calendar.half_day(data["time"]) != when.half:
            data.pop("time")
        data["half"], found = when.half, True
    if when.time:
        data["time"], found = when.time, True
    return found


def _go_back(text: str, session: Session, now: datetime) -> str | None:
    """改日期 / 改时间 / 改登记处 / 改申请人: forget those answers, keep the rest, ask again."""
    data = session.data
    for words, forgotten in _BACK.items():
        if text in words and data.get("goal") in (BOOK, WAITLIST, RESCHEDULE):
            for name in forgotten:
                data.pop(name, None)
            if data["goal"] == WAITLIST and "time" in forgotten:
                data["goal"] = BOOK
            return ask_next(session, now)
    return None


def _pick(text: str, session: Session) -> dict | None:
    return session.picked(text) if session.chooser == FLOW else None


def _failed(session: Session, field: str, problem: str, now: datetime) -> str:
    tried_out = _count_try(session, field)
    return "\n".join([f"{problem}。", *([say.TRY_LATER] if tried_out else []), ask_next(session, now)])


def _count_try(session: Session, field: str) -> bool:
    """Count a failed attempt; True on the third, when the reply offers to stop or come back later."""
    tries = session.data.setdefault("tries", {})
    tries[field] = tries.get(field, 0) + 1
    if tries[field] < MAX_TRIES:
        return False
    tries[field] = 0
    return True


# ---- the applicants, kept encrypted in the session ----------------------------------------------


@cache
def _fernet() -> Fernet:
    # Derived from the same secret as the engine's ID hashes, but a different key for a different use.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"booking-session:" + engine.pii_key()).digest()))


def _people(session: Session) -> list[dict]:
    sealed = session.data.get("people")
    if not sealed:
        return []
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except InvalidToken:  # PII_KEY changed since: ask again rather than fail
        return []


def _keep_people(session: Session, people: list[dict]) -> None:
    session.data["people"] = _fernet().encrypt(json.dumps(people, ensure_ascii=False).encode()).decode()


def _update_person(session: Session, who: int, **fields: str) -> None:
    people = _people(session)
    while len(people) <= who:
        people.append({})
    people[who].update(fields)
    _keep_people(session, people)
    session.data.get("tries", {}).pop(f"{'name' if 'name' in fields else 'id'}{who}", None)


def _office(session: Session) -> offices.Office | None:
    office_id = session.data.get("office_id")
    return offices.current().get(office_id) if office_id else None


def _where(office: offices.Office) -> str:
    return slots.where_to_register(office, slots.rules())


def _cutoff_cn() -> str:
    return wording.minutes_cn(slots.rules().cancel_cutoff_minutes)
