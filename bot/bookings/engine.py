"""The booking engine: book, cancel, reschedule, check in, close, waitlist, no-shows, in Redis.

Each operation that changes places is one Lua script (bot/bookings/lua/), run with EVALSHA in one round
trip, so capacity, the one-active-booking-per-person rule and closures are checked and written
together: concurrent requests can never overbook or book a person twice. The calendar and window
rules come from bot/bookings/slots.py, eligibility from bot/bookings/applicants.py; this module adds what needs the
store. Applicants are kept only as masked names and ID numbers plus a keyed hash of the number.

Every function takes `now` (an aware datetime in the service's zone) so results do not depend
on when they run. Results are `Outcome`s; the chat and the API each put them in their own words.
"""

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, wraps
from pathlib import Path

from prometheus_client import Counter

from bot import config, inbox, store
from bot.bookings import applicants, calendar, closures, idcard, slots, wording
from bot.bookings.slots import BookingRules
from knowledge import offices as office_data
from knowledge.offices import Office

log = logging.getLogger(__name__)

# Confirmation codes: no 0/O, 1/I/L, so a code read over the phone cannot be misheard or mistyped.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
SPARE_CODES = 3  # fresh codes handed to a script that may book a waiting couple
IDEMPOTENCY_SECONDS = 24 * 3600
BATCH = 500
DEV_PII_KEY = "tongzhou-dev-pii-key"

# Statuses a booking moves through; history keeps every step.
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
CANCELLED_BY_OFFICE = "cancelled_by_office"
CHECKED_IN = "checked_in"
NO_SHOW = "no_show"

STATUSES = (CONFIRMED, CANCELLED, CANCELLED_BY_OFFICE, CHECKED_IN, NO_SHOW)
# Statuses whose couple held their place in the slot (counted in a day's load); cancelled ones gave it back.
HELD_A_PLACE = (CONFIRMED, CHECKED_IN, NO_SHOW)

# Outcome kinds.
SLOT_FULL = "slot_full"
ALREADY_BOOKED = "already_booked"
INVALID = "invalid"
CLOSED = "closed"
SUSPENDED = "suspended"
NOT_FOUND = "not_found"
NOT_ACTIVE = "not_active"
TOO_LATE = "too_late"
RESCHEDULED = "rescheduled"
WRONG_OFFICE = "wrong_office"
NOT_TODAY = "not_today"
TOO_EARLY = "too_early"
ALREADY_CHECKED_IN = "already_checked_in"
WAITING = "waiting"
ALREADY_WAITING = "already_waiting"
IDEMPOTENCY_MISMATCH = "idempotency_mismatch"  # a retry's key came with a different request
# Script answers the engine handles itself and never returns.
DUPLICATE = "duplicate"
CODE_TAKEN = "code_taken"
SAME_SLOT = "same_slot"

# Channels; staff booking by phone is not subject to a no-show suspension.
WECHAT = "wechat"
WEB = "web"
PHONE = "phone"

# A caller's phone number as staff or a web form may type it: digits, spaces, dashes, an optional +.
PHONE_NUMBER = re.compile(r"\+?[0-9\- ]{5,20}")

# Key templates (%s parts: code, office id, ISO date, ID hash, openid). Lua gets the same table.
KEYS = {
    "booking": "booking:%s",
    "history": "booking:%s:history",
    "taken": "booking:taken:%s:%s",
    "office_day": "booking:office_day:%s:%s",
    "day": "booking:day:%s",
    "active": "booking:active:%s",
    "openid": "booking:openid:%s",
    "idem": "booking:idem:%s",
    "waitlist": "booking:waitlist:%s:%s",
    "waitlist_offices": "booking:waitlist_offices:%s",
    "noshows": "booking:noshows:%s",
    "suspended": "booking:suspended:%s",
    "upcoming": "booking:upcoming",
    "by_date": "booking:by_date",
    "notices": "notices:pending",
    "inbox": inbox.KEY,
    "closures": closures.CLOSURE_KEY,
    "peak": closures.PEAK_KEY,
}

OUTCOMES = (
    SLOT_FULL, ALREADY_BOOKED, INVALID, CLOSED, SUSPENDED, NOT_FOUND, NOT_ACTIVE, TOO_LATE, RESCHEDULED,
    WRONG_OFFICE, NOT_TODAY, TOO_EARLY, ALREADY_CHECKED_IN, WAITING, ALREADY_WAITING, IDEMPOTENCY_MISMATCH,
    DUPLICATE, CODE_TAKEN, SAME_SLOT,
)  # fmt: skip
# The names the scripts use for them (`O.SLOT_FULL` in Lua): one spelling, Python's.
LUA_NAMES = {kind.upper(): kind for kind in STATUSES + OUTCOMES}


@dataclass(frozen=True)
class Event:
    at: datetime
    event: str  # created, rescheduled, cancelled, cancelled_by_office, checked_in, no_show, anonymised
    detail: str = ""


@dataclass(frozen=True)
class Booking:
    code: str
    status: str
    office_id: str
    office_name: str
    city: str
    date: date
    time: str
    starts_at: datetime  # aware, UTC
    channel: str
    openid: str = ""
    phone: str = ""
    names: tuple[str, ...] = ()  # masked, e.g. 张*
    id_numbers: tuple[str, ...] = ()  # masked to the last 4, e.g. **************123X
    history: tuple[Event, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == CONFIRMED

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "status": self.status,
            "office_id": self.office_id,
            "office_name": self.office_name,
            "date": self.date.isoformat(),
            "time": self.time,
            "channel": self.channel,
            "applicants": [{"name": n, "id_number": i} for n, i in zip(self.names, self.id_numbers, strict=False)],
            "history": [{"at": e.at.isoformat(), "event": e.event, "detail": e.detail} for e in self.history],
        }


@dataclass(frozen=True)
class Alternative:
    office_id: str
    office_name: str
    date: date
    time: str
    remaining: int

    def to_json(self) -> dict:
        return {
            "office_id": self.office_id,
            "office_name": self.office_name,
            "date": self.date.isoformat(),
            "time": self.time,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class Outcome:
    """What an engine call came to. `kind` is CONFIRMED, SLOT_FULL, ... ; `message` explains it in Chinese."""

    kind: str
    booking: Booking | None = None
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # INVALID / CLOSED: field → what is wrong
    alternatives: tuple[Alternative, ...] = ()  # SLOT_FULL: nearest free places
    promoted: str = ""  # code of a waiting couple booked into the place this call freed
    until: datetime | None = None  # SUSPENDED: when booking is allowed again
    position: int = 0  # WAITING / ALREADY_WAITING: place in the queue
    replayed: bool = False  # CONFIRMED: the booking an earlier request with the same idempotency key made


@dataclass(frozen=True)
class Couple:
    """Two applicants as they are stored: masked names and numbers, keyed hashes of the numbers."""

    names: tuple[str, str]
    id_numbers: tuple[str, str]
    hashes: tuple[str, str]

    @classmethod
    def of(cls, people: Sequence[dict]) -> "Couple":
        key = pii_key()
        return cls(
            tuple(mask_name(applicants.validate_name(p["name"])) for p in people),
            tuple(idcard.mask(p["id_number"]) for p in people),
            tuple(idcard.keyed_hash(p["id_number"], key) for p in people),
        )

    def to_fields(self) -> dict:
        return {
            "name1": self.names[0],
            "id1": self.id_numbers[0],
            "hash1": self.hashes[0],
            "name2": self.names[1],
            "id2": self.id_numbers[1],
            "hash2": self.hashes[1],
        }


def mask_name(name: str) -> str:
    """张*, 欧阳**: the first character only, so a reply or log never carries a full name."""
    return name[:1] + "*" * (len(name) - 1)


def pii_key() -> bytes:
    """The key of the ID-number hashes (PII_KEY). Changing it forgets who holds which booking."""
    key = config.current().pii_key
    if not key:
        _warn_dev_key()
        key = DEV_PII_KEY
    return key.encode()


@cache
def _warn_dev_key() -> None:
    log.warning("PII_KEY is not set: ID numbers are hashed with the development key")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


BOOKINGS = Counter("tongzhou_bookings", "Booking requests, by outcome and channel", ["outcome", "channel"])


def _counted(book):
    @wraps(book)
    def counted(*args, channel: str = WECHAT, **kwargs) -> Outcome:
        outcome = book(*args, channel=channel, **kwargs)
        BOOKINGS.labels(outcome.kind, channel).inc()
        return outcome

    return counted


@_counted
def book(
    office: Office,
    day: date,
    hhmm: str,
    people: Sequence[dict],
    *,
    now: datetime,
    channel: str = WECHAT,
    openid: str = "",
    phone: str = "",
    idempotency_key: str = "",
    client: str = "",
    rules: BookingRules | None = None,
    registry: office_data.Registry | None = None,
) -> Outcome:
    """Book `hhmm` on `day` at `office` for two applicants ({"name", "id_number"} each).

    `idempotency_key` (the API's Idempotency-Key, the chat's draft; scope it by channel) makes a
    retried request return the first booking. It belongs to `client` (who sent it: a staff token,
    an address, an openid) and to this request: another client's same key is a different key, and
    the same key with a different request is IDEMPOTENCY_MISMATCH. `registry` supplies same-city
    alternatives.
    """
    rules = rules or slots.rules()
    refusal = _slot_refusal(office, day, hhmm, now, rules)
    if refusal:
        return refusal
    errors = applicants.check_couple(list(people), day)
    if errors:
        return Outcome(INVALID, message="；".join(errors.values()), fields=errors)
    couple = Couple.of(people)
    start = slots.slot_start(day, hhmm, now)
    capacity = _capacity(office, day, rules)
    place = _place(office, day, hhmm, start)
    request = _fingerprint(place, couple.hashes, channel, openid, phone)
    for _ in range(5):
        record = {
            "code": new_code(),
            "channel": channel,
            "openid": openid,
            "phone": phone,
            **place,
            **couple.to_fields(),
        }
        result = _run(
            "book",
            booking=record,
            now=_ts(now),
            capacity=capacity,
            closure_fields=closures.fields_for(office.id),
            idempotency_key=_scoped(client, idempotency_key) if idempotency_key else "",
            request=request,
            idempotency_seconds=IDEMPOTENCY_SECONDS,
            check_suspension=channel != PHONE,
        )
        kind = result["kind"]
        if kind == CODE_TAKEN:
            continue
        if kind in (CONFIRMED, DUPLICATE):
            booking = _snapshot(result)
            _follow_with_reminders(booking, now)
            return Outcome(CONFIRMED, booking, replayed=kind == DUPLICATE)
        if kind == IDEMPOTENCY_MISMATCH:
            message = wording.says(IDEMPOTENCY_MISMATCH)
            return Outcome(kind, message=message, fields={"idempotency_key": message})
        if kind == SLOT_FULL:
            return _slot_full(SLOT_FULL, office, day, hhmm, now, rules, registry)
        return _refused(result, office.id, day, now, rules)
    raise RuntimeError("could not find an unused confirmation code")


def cancel(
    code: str,
    *,
    now: datetime,
    openid: str = "",
    by_staff: bool = False,
    reason: str = "",
    rules: BookingRules | None = None,
):
    """Cancel a confirmed booking (the record stays, status cancelled) and give its place to the waitlist.

    `openid` set: only that user's booking is found. Citizens cannot cancel within the cutoff; staff can.
    `reason` (staff at the counter, a citizen releasing a booking made with their ID) goes into the history.
    """
    rules = rules or slots.rules()
    detail = ("staff" if by_staff else "citizen") + (f": {reason}" if reason else "")
    result = _run(
        "cancel",
        code=_code(code),
        now=_ts(now),
        cutoff=_cutoff_seconds(rules, by_staff),
        openid=openid,
        spares=_spares(),
        template=wording.NOTICE_TEMPLATES["waitlist_promoted"],
        day_names=_day_names(now, rules),
        detail=detail,
    )
    if result["kind"] == CANCELLED:
        booking = _snapshot(result)
        _follow_with_reminders(booking, now, promoted=result["promoted"])
        return Outcome(CANCELLED, booking, message=wording.says(CANCELLED), promoted=result["promoted"])
    return _refused(result, "", None, now, rules)


def reschedule(
    code: str,
    office: Office,
    day: date,
    hhmm: str,
    *,
    now: datetime,
    openid: str = "",
    by_staff: bool = False,
    rules: BookingRules | None = None,
    registry: office_data.Registry | None = None,
) -> Outcome:
    """Move a booking to another slot, keeping its code. The new place is taken before the old is freed;
    if the new slot is full or closed nothing changes."""
    rules = rules or slots.rules()
    refusal = _slot_refusal(office, day, hhmm, now, rules)
    if refusal:
        return refusal
    result = _run(
        "reschedule",
        code=_code(code),
        now=_ts(now),
        cutoff=_cutoff_seconds(rules, by_staff),
        openid=openid,
        capacity=_capacity(office, day, rules),
        closure_fields=closures.fields_for(office.id),
        place=_place(office, day, hhmm, slots.slot_start(day, hhmm, now)),
        spares=_spares(),
        template=wording.NOTICE_TEMPLATES["waitlist_promoted"],
        day_names=_day_names(now, rules),
    )
    kind = result["kind"]
    if kind == RESCHEDULED:
        booking = _snapshot(result)
        _follow_with_reminders(booking, now, promoted=result["promoted"])
        return Outcome(RESCHEDULED, booking, message=wording.says(RESCHEDULED), promoted=result["promoted"])
    if kind == SAME_SLOT:
        message = wording.says(SAME_SLOT)
        return Outcome(INVALID, message=message, fields={"time": message})
    if kind == SLOT_FULL:
        return _slot_full("slot_full_kept", office, day, hhmm, now, rules, registry)
    return _refused(result, office.id, day, now, rules)


def check_in(code: str, office_id: str, *, now: datetime, rules: BookingRules | None = None) -> Outcome:
    """Check the couple in at `office_id` (QR scene or staff entering the code): today's booking only."""
    rules = rules or slots.rules()
    result = _run(
        "checkin",
        code=_code(code),
        office_id=office_id,
        today=now.date().isoformat(),
        now=_ts(now),
        opens=rules.checkin_opens_minutes * 60,
        grace=rules.no_show_grace_minutes * 60,
    )
    kind = result["kind"]
    if kind == CHECKED_IN:
        return Outcome(CHECKED_IN, _snapshot(result), message=wording.says(CHECKED_IN))
    if kind == ALREADY_CHECKED_IN:
        return Outcome(kind, _snapshot(result), message=wording.says(kind, at=_hm(result["at"], now)))
    if kind == WRONG_OFFICE:
        return Outcome(kind, message=wording.says(kind, office=result["office_name"]))
    if kind == NOT_TODAY:
        booked = date.fromisoformat(result["date"])
        case = "not_today_past" if booked < now.date() else "not_today_ahead"
        return Outcome(kind, message=wording.says(case, date=wording.date_cn(booked)))
    if kind == TOO_EARLY:
        return Outcome(kind, message=wording.says("checkin_too_early", at=_hm(result["at"], now)))
    if kind == TOO_LATE:
        return Outcome(kind, message=wording.says("checkin_too_late", at=_hm(result["at"], now)))
    return _refused(result, office_id, None, now, rules)


def check_in_for_openid(openid: str, office_id: str, *, now: datetime, rules: BookingRules | None = None) -> Outcome:
    """A couple scanning the office's QR code: which of their bookings to check in, and checking it in.

    Today's booking here first, then today's anywhere (so the answer can say "wrong office"), then
    the next one (so it can say when it is). NOT_FOUND when they have no active booking.
    """
    mine = active_for_openid(openid)
    if not mine:
        return Outcome(NOT_FOUND, message=wording.says("no_active_booking"))
    booking = min(mine, key=lambda b: (b.date != now.date(), b.office_id != office_id, b.starts_at))
    return check_in(booking.code, office_id, now=now, rules=rules)


def close(
    day: date,
    reason: str,
    *,
    now: datetime,
    office: Office | None = None,
    rules: BookingRules | None = None,
) -> tuple[int, int]:
    """Staff close one office (or, office None, the whole province) on `day`: one atomic script writes
    the closure, cancels every confirmed booking (status cancelled_by_office, kept in history), drops
    the waitlist, and queues a notice with rebooking options. Returns (bookings cancelled, waiting dropped)."""
    rules = rules or slots.rules()
    options = wording.rebooking_options(
        [d for d in slots.window_days(now, rules) if d > day and not calendar.calendar_reason(d)][:3]
    )
    templates = {
        which: wording.NOTICE_TEMPLATES[kind].replace("{reason}", reason).replace("{options}", options)
        for which, kind in (("booking", "cancelled_by_office"), ("waitlist", "waitlist_closed"))
    }
    iso = day.isoformat()
    if office:  # its bookings and its waitlist
        field, listing, waitlists = office.id, _key("office_day", office.id, iso), {"offices": [office.id]}
    else:  # every booking that day and every office's waitlist
        field, listing, waitlists = closures.PROVINCE, _key("day", iso), {}
    result = _run(
        "close",
        date=iso,
        field=field,
        reason=reason,
        now=_ts(now),
        listing=listing,
        templates=templates,
        day_names={iso: wording.date_cn(day)},
        **waitlists,
    )
    cancelled, dropped = result["cancelled"], result["dropped"]
    log.info("closed %s on %s (%s): %s cancelled, %s waiting dropped", field, day, reason, cancelled, dropped)
    return int(cancelled), int(dropped)


def join_waitlist(
    office: Office,
    day: date,
    people: Sequence[dict],
    *,
    now: datetime,
    half: str = "",
    channel: str = WECHAT,
    openid: str = "",
    phone: str = "",
    rules: BookingRules | None = None,
) -> Outcome:
    """Queue a couple for any slot (or the 上午/下午 `half`) of `office` on `day`; a freed place books them."""
    rules = rules or slots.rules()
    refusal = _day_refusal(office, day, now, rules)
    if refusal:
        return refusal
    errors = applicants.check_couple(list(people), day)
    if errors:
        return Outcome(INVALID, message="；".join(errors.values()), fields=errors)
    entry = {
        "channel": channel,
        "openid": openid,
        "phone": phone,
        "office_name": office.name,
        "times": list(slots.times_in_half_day(office, half)) if half else [],
        "joined_at": _ts(now),
        **Couple.of(people).to_fields(),
    }
    end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    result = _run(
        "waitlist",
        office_id=office.id,
        date=day.isoformat(),
        entry=json.dumps(entry, ensure_ascii=False),
        keep=int((end_of_day - now).total_seconds()),
        closure_fields=closures.fields_for(office.id),
        check_suspension=channel != PHONE,
        now=_ts(now),
    )
    kind = result["kind"]
    if kind == WAITING:
        position = int(result["position"])
        return Outcome(WAITING, message=wording.says(WAITING, position=position), position=position)
    if kind == ALREADY_WAITING:
        position = int(result["position"])
        return Outcome(kind, message=wording.says(kind, position=position), position=position)
    return _refused(result, office.id, day, now, rules)


def mark_no_shows(now: datetime, rules: BookingRules | None = None) -> tuple[int, int]:
    """Confirmed bookings whose slot start + grace has passed become no-shows; a person reaching the
    limit within the lookback is suspended from chat and web booking. Returns (marked, suspensions)."""
    rules = rules or slots.rules()
    result = _run(
        "no_shows",
        now=_ts(now),
        grace=rules.no_show_grace_minutes * 60,
        limits=_no_show_limits(rules),
        batch=BATCH,
    )
    return int(result["marked"]), int(result["suspended"])


def mark_no_show(code: str, *, now: datetime, by_staff: bool = True, rules: BookingRules | None = None) -> Outcome:
    """One confirmed booking becomes a no-show, counted towards suspension exactly like mark_no_shows.

    Staff at the desk may mark it as soon as the slot has started; otherwise (by_staff False) only
    once the check-in grace has passed, as the scheduler would.
    """
    rules = rules or slots.rules()
    result = _run(
        "no_show",
        code=_code(code),
        now=_ts(now),
        after=0 if by_staff else rules.no_show_grace_minutes * 60,
        detail="staff" if by_staff else "",
        limits=_no_show_limits(rules),
    )
    kind = result["kind"]
    if kind == NO_SHOW:
        suspended = int(result["suspended"])
        message = (
            wording.says("no_show_suspending", count=suspended, days=rules.suspension_days)
            if suspended
            else wording.says(NO_SHOW)
        )
        return Outcome(NO_SHOW, _snapshot(result), message=message)
    if kind == TOO_EARLY:
        return Outcome(kind, message=wording.says("no_show_too_early", at=_hm(result["at"], now)))
    return _refused(result, "", None, now, rules)


def anonymise_expired(now: datetime, rules: BookingRules | None = None) -> int:
    """Remove everything that identifies a person (names, masked numbers, hashes, phone, openid, their
    no-show records) from bookings older than the retention period."""
    rules = rules or slots.rules()
    before = now - timedelta(days=rules.pii_retention_days)
    return int(_run("anonymise", before=_ts(before), batch=BATCH, now=_ts(now))["done"])


def get(code: str) -> Booking | None:
    code = _code(code)
    pipe = store.client().pipeline(transaction=False)
    pipe.hgetall(_key("booking", code))
    pipe.lrange(_key("history", code), 0, -1)
    raw, history = pipe.execute()
    return _booking(raw, history) if raw else None


def openid_key(openid: str) -> str:
    """The set of a WeChat user's booking codes: a chat turn reads it in the script that opens it."""
    return _key("openid", openid)


def active_for_openid(openid: str, codes: list[str] | None = None) -> list[Booking]:
    """The user's active bookings by start; `codes`: their booking codes if already read."""
    if codes is None:
        codes = store.client().smembers(openid_key(openid))
    return sorted((b for b in map(get, codes) if b and b.active), key=lambda b: b.starts_at)


def matches_id(code: str, id_number: str) -> Booking | None:
    """The booking with this code if `id_number` is one of its applicants', whatever its status.

    Compares keyed hashes (the number itself is never stored); an anonymised booking matches nobody.
    """
    booking_key = _key("booking", _code(code))
    stored = store.client().hmget(booking_key, "hash1", "hash2")
    typed = idcard.keyed_hash(id_number, pii_key())
    if not any(h and hmac.compare_digest(h, typed) for h in stored):
        return None
    return get(code)


def on_day(office_id: str, day: date) -> list[Booking]:
    """Every booking of an office on a day, whatever its status, by slot time (staff day view)."""
    codes = store.client().smembers(_key("office_day", office_id, day.isoformat()))
    return sorted((b for b in map(get, codes) if b), key=lambda b: (b.time, b.code))


def statuses_on(day: date) -> list[tuple[str, str]]:
    """(office id, status) of every booking listed on `day` across the province, in two round trips."""
    codes = store.client().smembers(_key("day", day.isoformat()))
    pipe = store.client().pipeline(transaction=False)
    for code in codes:
        pipe.hmget(_key("booking", code), "office_id", "status")
    return [(office_id, status) for office_id, status in pipe.execute() if office_id]


def is_phone_number(text: str) -> bool:
    return bool(PHONE_NUMBER.fullmatch(text))


def availability(office: Office, day: date, *, now: datetime, rules: BookingRules | None = None):
    return availability_for([(office, day)], now=now, rules=rules)[0]


def availability_for(
    pairs: Sequence[tuple[Office, date]], *, now: datetime, rules: BookingRules | None = None
) -> list[slots.DayAvailability]:
    """Availability of many (office, day) pairs in one round trip: closures, peaks and counts together."""
    rules = rules or slots.rules()
    pipe = store.client().pipeline(transaction=False)
    for office, day in pairs:
        pipe.hgetall(closures.closure_key(day))
        pipe.hgetall(closures.peak_key(day))
        pipe.hgetall(_key("taken", office.id, day.isoformat()))
    raw = pipe.execute()
    result = []
    for i, (office, day) in enumerate(pairs):
        stored_closures, stored_peak, taken = raw[3 * i : 3 * i + 3]
        result.append(
            slots.availability(
                office,
                day,
                now,
                rules,
                closure=closures.reason_in(stored_closures, office.id, day),
                peak=closures.peak_from(stored_peak),
                taken={t: int(n) for t, n in taken.items()},
            )
        )
    return result


def alternatives(
    office: Office,
    day: date,
    hhmm: str,
    *,
    now: datetime,
    rules: BookingRules | None = None,
    registry: office_data.Registry | None = None,
    limit: int = 5,
) -> tuple[Alternative, ...]:
    """The free places nearest in time to the one asked for: the same office first, then its city.

    The asked-for day is read first and usually suffices (a full slot is a busy hour, not a busy
    fortnight), so the common answer costs one small round trip; any slot that day is nearer than
    any slot on another day, so widening afterwards keeps the order.
    """
    rules = rules or slots.rules()
    registry = registry or office_data.current()
    wanted = slots.slot_start(day, hhmm, now)
    neighbours = [o for o in registry.in_city(office.city) if o.id != office.id]
    days = slots.window_days(now, rules)
    seen = {(office.id, day, hhmm)}
    found: list[Alternative] = []
    # The city's other offices are read a day-distance at a time: office hours span under a day, so
    # every slot k days away is nearer than any k + 1 days away, and a full fortnight at one office
    # (the morning a popular date opens) doesn't cost reading the whole city's fortnight.
    by_distance = sorted({abs((d - day).days) for d in days})
    stages = [[(office, day)], [(office, d) for d in days if d != day]]
    if neighbours:
        stages += [[(o, d) for o in neighbours for d in days if abs((d - day).days) == k] for k in by_distance]
    for pairs in stages:
        free = [
            (abs(slots.slot_start(a.date, s.time, now) - wanted), o, a, s)
            for (o, _), a in zip(pairs, availability_for(pairs, now=now, rules=rules), strict=True)
            for s in a.slots
            if s.remaining > 0 and (o.id, a.date, s.time) not in seen
        ]
        free.sort(key=lambda item: (item[0], item[1].id))
        found += [Alternative(o.id, o.name, a.date, s.time, s.remaining) for _, o, a, s in free[: limit - len(found)]]
        if len(found) >= limit:
            break
    return tuple(found)


# -- internals --------------------------------------------------------------------------------


def _slot_full(says_key: str, office: Office, day: date, hhmm: str, now: datetime, rules, registry) -> Outcome:
    """The slot filled before we got there: say so (in `says_key`'s words) and offer the nearest free places."""
    return Outcome(
        SLOT_FULL,
        message=wording.says(says_key, office=office.name, date=wording.date_cn(day), time=hhmm),
        alternatives=alternatives(office, day, hhmm, now=now, rules=rules, registry=registry),
    )


def _slot_refusal(office: Office, day: date, hhmm: str, now: datetime, rules: BookingRules) -> Outcome | None:
    refusal = _day_refusal(office, day, now, rules)
    if refusal:
        return refusal
    reason = slots.slot_reason(office, day, hhmm, now, rules)
    return Outcome(INVALID, message=reason, fields={"time": reason}) if reason else None


def _day_refusal(office: Office, day: date, now: datetime, rules: BookingRules) -> Outcome | None:
    """Calendar, window and seed closures; staff closures are checked inside the scripts."""
    reason = slots.window_reason(day, now, rules) or calendar.calendar_reason(day)
    if reason:
        return Outcome(
            INVALID,
            message=wording.says("day_refused", date=wording.date_cn(day), reason=reason),
            fields={"date": reason},
        )
    return _closed(closures.reason_in({}, office.id, day))


def _closed(reason: str) -> Outcome | None:
    if not reason:
        return None
    message = wording.closed(reason)
    return Outcome(CLOSED, message=message, fields={"date": message})


def _refused(result: dict, office_id: str, day: date | None, now: datetime, rules: BookingRules) -> Outcome:
    """Outcomes the scripts share: closed, suspended, already booked, not found, not active, too late."""
    kind = result["kind"]
    if kind == CLOSED:
        return _closed(closures.reason_in(result["closures"], office_id, day))
    if kind == SUSPENDED:
        until = datetime.fromtimestamp(float(result["until_ts"]), now.tzinfo)
        who = wording.ORDINALS[int(result["who"]) - 1]
        return Outcome(
            SUSPENDED,
            message=wording.says(kind, who=who, limit=rules.no_show_limit, until=wording.date_cn(until.date())),
            until=until,
        )
    if kind == ALREADY_BOOKED:
        who = wording.ORDINALS[int(result["who"]) - 1]
        return Outcome(ALREADY_BOOKED, get(result["code"]), message=wording.says(kind, who=who))
    if kind == NOT_FOUND:
        return Outcome(NOT_FOUND, message=wording.says(kind))
    if kind == NOT_ACTIVE:
        status = result["status"]
        return Outcome(NOT_ACTIVE, message=wording.says(kind, status=wording.STATUS_NAMES.get(status, status)))
    if kind == TOO_LATE:
        cutoff = wording.minutes_cn(rules.cancel_cutoff_minutes)
        return Outcome(TOO_LATE, message=wording.says(kind, cutoff=cutoff))
    raise ValueError(f"unexpected script result {kind!r}")


def _capacity(office: Office, day: date, rules: BookingRules) -> int:
    """The slot capacity the script enforces. Staff's peak override is read here (slots.capacity
    decides the precedence), so a change to it reaches bookings made after the change."""
    staff_peak = closures.peak(day)
    return slots.capacity(office, day, rules, staff_peak[0] if staff_peak else None)


def _scoped(client: str, idempotency_key: str) -> str:
    """The stored form of a client's key: a digest, so no caller's text becomes part of a Redis key."""
    return hashlib.sha256(f"{client}\x1f{idempotency_key}".encode()).hexdigest()


def _fingerprint(place: dict, hashes: Sequence[str], channel: str, openid: str, phone: str) -> str:
    """What a retry must repeat for its key to return the first booking."""
    request = {**place, "hashes": list(hashes), "channel": channel, "openid": openid, "phone": phone}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _cutoff_seconds(rules: BookingRules, by_staff: bool) -> int:
    return -1 if by_staff else rules.cancel_cutoff_minutes * 60


def _no_show_limits(rules: BookingRules) -> dict:
    """No-shows count over the lookback, but a record naming a person (by hash) never outlives the
    retention: the effective lookback is the shorter of the two."""
    lookback = min(rules.no_show_lookback_days, rules.pii_retention_days) * 86400
    return {
        "count": rules.no_show_limit,
        "lookback": lookback,
        "keep": lookback,
        "suspension": rules.suspension_days * 86400,
    }


def _day_names(now: datetime, rules: BookingRules) -> dict[str, str]:
    """Every date a confirmed booking or a waitlist can have, in words, for the notices the scripts write."""
    days = (now.date() + timedelta(days=n) for n in range(-1, rules.window_days + 1))
    return {d.isoformat(): wording.date_cn(d) for d in days}


def _place(office: Office, day: date, hhmm: str, start: datetime) -> dict:
    return {
        "office_id": office.id,
        "office_name": office.name,
        "city": office.city,
        "date": day.isoformat(),
        "time": hhmm,
        "starts_at": _ts(start),
    }


def _follow_with_reminders(booking: Booking, now: datetime, promoted: str = "") -> None:
    """Move the 24 h / 2 h reminders with the booking (and give a couple booked from the waitlist theirs).

    Closures and check-ins need no call: a reminder re-reads its booking and stays silent if it changed.
    Imported here because the scheduler imports this module.
    """
    from bot.bookings import reminders

    reminders.plan(booking, now)  # an inactive booking's reminders are removed
    if promoted:
        reminders.plan(get(promoted), now)


def _snapshot(result: dict) -> Booking:
    """The booking a script's answer carries (its `booking` hash and `history`)."""
    return _booking(result["booking"], result["history"])


def _booking(raw: dict, history: list[str]) -> Booking:
    events = tuple(
        Event(datetime.fromtimestamp(e["at"], UTC), e["event"], e.get("detail", "")) for e in map(json.loads, history)
    )
    return Booking(
        code=raw["code"],
        status=raw["status"],
        office_id=raw["office_id"],
        office_name=raw["office_name"],
        city=raw.get("city", ""),
        date=date.fromisoformat(raw["date"]),
        time=raw["time"],
        starts_at=datetime.fromtimestamp(int(raw["starts_at"]), UTC),
        channel=raw.get("channel", ""),
        openid=raw.get("openid", ""),
        phone=raw.get("phone", ""),
        names=tuple(n for n in (raw.get("name1", ""), raw.get("name2", "")) if n),
        id_numbers=tuple(n for n in (raw.get("id1", ""), raw.get("id2", "")) if n),
        history=events,
    )


def _run(name: str, **args) -> dict:
    """Run the booking script `name` with named arguments (its `A` table); its answer, decoded by name.

    Every script changes bookings, so its answer stands only once a replica holds the change (WAIT)."""
    answer = store.run_replicated(_sources()[name], (json.dumps(args, ensure_ascii=False),))
    return json.loads(answer)


@cache
def _sources() -> dict[str, str]:
    """Each script's text: the data it shares with Python, the common prelude, then its own body."""
    folder = Path(__file__).with_name("lua")
    data = "\n".join(
        [
            f"local K = {_lua_table(KEYS)}",
            f"local O = {_lua_table(LUA_NAMES)}",
            f"local INBOX_KEEP_SECONDS = {inbox.KEEP_SECONDS}",
            "local A = cjson.decode(ARGV[1])",
        ]
    )
    prelude = data + "\n" + (folder / "common.lua").read_text(encoding="utf-8")
    return {
        path.stem: prelude + "\n" + path.read_text(encoding="utf-8")
        for path in folder.glob("*.lua")
        if path.stem != "common"
    }


def _lua_table(names: dict[str, str]) -> str:
    return "{" + ", ".join(f"{name} = {json.dumps(value)}" for name, value in names.items()) + "}"


def _key(name: str, *parts: str) -> str:
    return KEYS[name] % parts


def _spares() -> list[str]:
    return [new_code() for _ in range(SPARE_CODES)]


def _code(code: str) -> str:
    return (code or "").strip().upper()


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _hm(timestamp, now: datetime) -> str:
    return wording.clock_cn(datetime.fromtimestamp(float(timestamp), now.tzinfo))


def active_for_id(id_number: str) -> Booking | None:
    """The active booking that holds this ID number (staff at the counter, with the ID card in hand)."""
    code = store.client().get(_key("active", idcard.keyed_hash(id_number, pii_key())))
    return get(code) if code else None


def active_for_couple(first_id: str, second_id: str) -> Booking | None:
    """The active booking made with exactly these two ID numbers (in either order), or None."""
    key = pii_key()
    wanted = {idcard.keyed_hash(first_id, key), idcard.keyed_hash(second_id, key)}
    code = store.client().get(_key("active", min(wanted)))
    if len(wanted) != 2 or not code:
        return None
    stored = set(store.client().hmget(_key("booking", code), "hash1", "hash2"))
    return get(code) if stored == wanted else None
