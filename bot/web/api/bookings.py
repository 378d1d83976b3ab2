"""`/api/v1`: the booking engine for the phone (staff) and web channels, as JSON.

Status codes and shapes are those README documents: 201 booked; 409 slot_full (with alternatives)
or already_booked; 422 invalid with `fields`; 400 malformed JSON; 401 missing staff token; 429 too
many web requests. Every error body is JSON with `error` and a Chinese `message`.
"""

import re
import time
from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, request

from bot.bookings import engine, slots
from bot.bookings.dates import date_arg
from bot.web import auth, ratelimit
from bot.web.auth import staff_token_required
from knowledge import offices as office_data

blueprint = Blueprint("api_bookings", __name__, url_prefix="/api/v1")

# Public (web) writes per client address; staff with a token are not limited.
WEB_LIMIT = 10
WEB_WINDOW_SECONDS = 60
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}")
DAY_SECONDS = 24 * 3600
NOT_FOUND = "没有找到与这个确认码和身份证号相符的预约，请核对后再试"
REASON_CHARS = 200

# Engine refusals that are conflicts with the booking's state rather than bad input.
_CONFLICTS = {
    engine.NOT_ACTIVE,
    engine.TOO_LATE,
    engine.WRONG_OFFICE,
    engine.NOT_TODAY,
    engine.TOO_EARLY,
    engine.ALREADY_CHECKED_IN,
}


@blueprint.get("/offices")
def list_offices():
    return jsonify([_office_json(o) for o in office_data.current().all()])


@blueprint.get("/offices/<office_id>/availability")
def availability(office_id: str):
    office = office_data.current().get(office_id)
    if office is None:
        return _error(404, "not_found", "没有这个登记处")
    day = date_arg(request.args.get("date", ""))
    if day is None:
        return _error(400, "bad_request", "date 应为 YYYY-MM-DD 格式的日期")
    day_open = engine.availability(office, day, now=_now(), rules=slots.rules())
    body = {
        "date": day.isoformat(),
        "open": day_open.open,
        "slots": [{"time": s.time, "capacity": s.capacity, "remaining": s.remaining} for s in day_open.slots],
    }
    if day_open.reason:
        body["reason"] = day_open.reason
    if day_open.peak:
        body["peak"] = day_open.peak
    return jsonify(body)


@blueprint.post("/bookings")
def create_booking():
    check = auth.staff_check()
    if auth.refusal(check):
        return auth.refusal(check)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "malformed", "请求体应为 JSON 对象")
    channel = body.get("channel")
    if channel == engine.PHONE and check != auth.STAFF:
        return _error(401, "unauthorized", "电话预约由工作人员代办，需要工作人员令牌")
    if channel == engine.WEB and not within_web_limit():
        return _error(429, "rate_limited", "请求过于频繁，请稍后再试")
    fields = {}
    if channel not in (engine.PHONE, engine.WEB):
        fields["channel"] = 'channel 应为 "phone" 或 "web"'
    office = office_data.current().get(str(body.get("office_id") or ""))
    if office is None:
        fields["office_id"] = "没有这个登记处"
    day = date_arg(body.get("date"))
    if day is None:
        fields["date"] = "日期应为 YYYY-MM-DD 格式"
    hhmm = body.get("time")
    if not isinstance(hhmm, str) or not _TIME.fullmatch(hhmm):
        fields["time"] = "时间应为 HH:MM 格式，如 09:00"
    phone = body.get("phone") or ""
    if phone and not (isinstance(phone, str) and engine.is_phone_number(phone)):
        fields["phone"] = "电话号码格式不对"
    people = body.get("applicants")
    if not isinstance(people, list) or len(people) != 2 or not all(isinstance(p, dict) for p in people):
        fields["applicants"] = "需要两位申请人，每位含 name 和 id_number"
    if fields:
        return _invalid(fields)
    people = [{"name": str(p.get("name") or ""), "id_number": str(p.get("id_number") or "")} for p in people]
    if channel == engine.WEB:
        refused = web_booking_refusal(office, day, people)
        if refused:
            return _error(refused.status, refused.error, refused.message)
    key = request.headers.get("Idempotency-Key", "").strip()[:100]
    outcome = engine.book(
        office,
        day,
        hhmm,
        people,
        now=_now(),
        channel=channel,
        phone=phone,
        idempotency_key=f"api:{key}" if key else "",
        client="staff" if check == auth.STAFF else f"address:{auth.client_address()}",
        rules=slots.rules(),
    )
    if channel == engine.WEB:
        web_booking_settled(outcome)
    if outcome.kind == engine.CONFIRMED:
        b = outcome.booking
        return jsonify(code=b.code, office_id=b.office_id, date=b.date.isoformat(), time=b.time, status=b.status), 201
    if outcome.kind == engine.SLOT_FULL:
        alternatives = [a.to_json() for a in outcome.alternatives]
        return jsonify(error="slot_full", message=outcome.message, alternatives=alternatives), 409
    if outcome.kind == engine.ALREADY_BOOKED:
        return _error(409, "already_booked", outcome.message)
    if outcome.kind == engine.SUSPENDED:
        return jsonify(error="suspended", message=outcome.message, until=outcome.until.isoformat()), 403
    return _invalid(outcome.fields, outcome.message)


@blueprint.get("/bookings/<code>")
@staff_token_required
def get_booking(code: str):
    """Staff read any booking by its code; citizens prove it is theirs with POST …/lookup."""
    booking = engine.get(code)
    if booking is None:
        return _error(404, "not_found", NOT_FOUND)
    return jsonify(booking.to_json())


@blueprint.post("/bookings/search")
@staff_token_required
def search_by_id_number():
    """Staff at the counter, the person's ID card in hand: the active booking made with that number."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("id_number"), str):
        return _error(400, "malformed", '请求体应为 JSON 对象，如 {"id_number": "..."}')
    booking = engine.active_for_id(body["id_number"])
    return jsonify(bookings=[booking.to_json()] if booking else [])


@blueprint.post("/bookings/<code>/lookup")
def look_up(code: str):
    booking, _, refused = _owned(code)
    return refused or jsonify(booking.to_json())


@blueprint.post("/bookings/<code>/cancel")
def cancel_booking(code: str):
    booking, staff, refused = _owned(code)
    if refused:
        return refused
    reason = str(_body().get("reason") or "")[:REASON_CHARS].strip() if staff else ""
    outcome = engine.cancel(booking.code, now=_now(), by_staff=staff, reason=reason, rules=slots.rules())
    if outcome.kind == engine.CANCELLED:
        return jsonify(code=outcome.booking.code, status=outcome.booking.status)
    return _refusal(outcome)


@blueprint.post("/bookings/<code>/reschedule")
def reschedule_booking(code: str):
    booking, staff, refused = _owned(code)
    if refused:
        return refused
    body = _body()
    office = office_data.current().get(str(body.get("office_id") or booking.office_id))
    day, hhmm = date_arg(body.get("date")), body.get("time")
    fields = {}
    if office is None:
        fields["office_id"] = "没有这个登记处"
    if day is None:
        fields["date"] = "日期应为 YYYY-MM-DD 格式"
    if not isinstance(hhmm, str) or not _TIME.fullmatch(hhmm):
        fields["time"] = "时间应为 HH:MM 格式，如 09:00"
    if fields:
        return _invalid(fields)
    outcome = engine.reschedule(booking.code, office, day, hhmm, now=_now(), by_staff=staff, rules=slots.rules())
    if outcome.kind == engine.RESCHEDULED:
        b = outcome.booking
        return jsonify(code=b.code, office_id=b.office_id, date=b.date.isoformat(), time=b.time, status=b.status)
    if outcome.kind == engine.SLOT_FULL:
        alternatives = [a.to_json() for a in outcome.alternatives]
        return jsonify(error="slot_full", message=outcome.message, alternatives=alternatives), 409
    return _refusal(outcome)


@blueprint.post("/bookings/<code>/checkin")
@staff_token_required
def check_in(code: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "malformed", '请求体应为 JSON 对象，如 {"office_id": "changsha-furong"}')
    office_id = body.get("office_id")
    if not isinstance(office_id, str) or office_data.current().get(office_id) is None:
        return _invalid({"office_id": "没有这个登记处"})
    outcome = engine.check_in(code, office_id, now=_now(), rules=slots.rules())
    if outcome.kind == engine.CHECKED_IN:
        return jsonify(code=outcome.booking.code, status=outcome.booking.status, message=outcome.message)
    return _refusal(outcome)


def _owned(code: str):
    """(booking, by_staff, None) when the caller may act on it — staff token, or code plus one applicant's
    ID number in the body — else (None, False, the refusal). A wrong pair is 404, like an unknown code."""
    check = auth.staff_check()
    if auth.refusal(check):
        return None, False, auth.refusal(check)
    if check == auth.STAFF:
        booking = engine.get(code)
        return (booking, True, None) if booking else (None, True, _error(404, "not_found", NOT_FOUND))
    id_number = _body().get("id_number")
    if not isinstance(id_number, str) or not id_number.strip():
        refused = _invalid({"id_number": "请提供任一位申请人的身份证号"}, "需要确认码和任一位申请人的身份证号")
        return None, False, refused
    try:
        booking = auth.owned_booking(code, id_number, time.time())
    except auth.LookupLimited:
        return None, False, _error(429, "rate_limited", auth.TOO_MANY_LOOKUPS)
    return (booking, False, None) if booking else (None, False, _error(404, "not_found", NOT_FOUND))


# --- the web channel's limits (shared with the /book page) -------------------------------------------


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    message: str


def web_booking_refusal(office, day: date, people: list[dict]) -> Refusal | None:
    """Why this web booking may not be made now (None: go ahead). Counts the client's booking for the day;
    `web_booking_settled` gives it back when the engine did not make a new booking."""
    config = current_app.config["TONGZHOU"]
    for check in auth.REAL_NAME_CHECKS:
        refused = check(people)
        if refused:
            return Refusal(403, "not_verified", refused)
    share = config.web_office_day_share_percent
    rules = slots.rules()
    places = slots.capacity(office, day, rules) * len(slots.slot_times(office))
    held = sum(b.channel == engine.WEB and b.status in engine.HELD_A_PLACE for b in engine.on_day(office.id, day))
    if held * 100 >= places * share:
        message = f"{office.name}这一天留给网上预约的名额已满，请选其他日期，或通过微信公众号、电话预约"
        return Refusal(409, "web_share_full", message)
    if not ratelimit.allow(_daily_bucket(), config.web_bookings_per_client_day, DAY_SECONDS, time.time()):
        return Refusal(429, "daily_limit", "同一网络今天的网上预约次数已达上限，请明天再试，或通过微信公众号、电话预约")
    return None


def web_booking_settled(outcome: engine.Outcome) -> None:
    """Only a new booking counts against the client's day: a refusal, or a double-submitted form
    answered with the booking its first submission made, is given back."""
    if outcome.kind != engine.CONFIRMED or outcome.replayed:
        ratelimit.undo(_daily_bucket(), DAY_SECONDS, time.time())


def _daily_bucket() -> str:
    return f"web-bookings-day:{auth.client_address()}"


def _refusal(outcome: engine.Outcome):
    if outcome.kind == engine.NOT_FOUND:
        return _error(404, "not_found", outcome.message)
    if outcome.kind in _CONFLICTS:
        return _error(409, outcome.kind, outcome.message)
    return _invalid(outcome.fields, outcome.message)


def _office_json(office) -> dict:
    return {
        "id": office.id,
        "name": office.name,
        "city": office.city,
        "district": office.district,
        "lat": office.lat,
        "lng": office.lng,
        "hours": [list(span) for span in office.hours],
        "slot_minutes": office.slot_minutes,
        "capacity": office.capacity,
        "address": office.address,
        "phone": office.phone,
    }


def within_web_limit() -> bool:
    """Web bookings from this client in the current minute are under WEB_LIMIT (the API and /book count together)."""
    return ratelimit.allow(f"web:{auth.client_address()}", WEB_LIMIT, WEB_WINDOW_SECONDS, time.time())


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _now() -> datetime:
    return datetime.now(current_app.config["TONGZHOU"].tz)


def _error(status: int, error: str, message: str):
    return jsonify(error=error, message=message), status


def _invalid(fields: dict, message: str = "请求内容有误"):
    return jsonify(error="invalid", message=message, fields=fields), 422
