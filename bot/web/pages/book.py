"""`/book`: the citizen's web booking, on the same engine and rules as the chat and the API.

Choosing is done with plain links and GET forms (city → office → day → slot), so it works without
JavaScript; the form's fields are named like the engine's errors ("applicants[1].id_number"), so
each error is shown next to the field at fault. Looking up or cancelling needs the code plus one
applicant's ID number (counted per client like the API's look-ups); someone whose ID number was used
for a booking they did not make releases it with both applicants' ID numbers (/book/release).
"""

import secrets
import time

from flask import Blueprint, redirect, render_template, request, session, url_for

from bot.bookings import engine, wording
from bot.bookings.slots import ceremony_notice, where_to_register, window_days
from bot.web import auth
from bot.web.api import bookings as bookings_api
from bot.web.pages import web

blueprint = Blueprint("book", __name__, url_prefix="/book")

PEOPLE_FIELDS = (("applicants[0]", "第一位申请人"), ("applicants[1]", "第二位申请人"))
TOO_MANY = "操作过于频繁，请一分钟后再试"
BOOKED = "booked_code"  # session: the code just booked, for the confirmation page
MANAGING = "managing_code"  # session: the code whose ID number was just proven


@blueprint.get("")
def form():
    return _form_page({}, {})


@blueprint.post("")
def submit():
    form = request.form.to_dict()
    office, day, people, errors = web.read_booking_form(form, "date")
    if errors:
        return _form_page(form, errors, 422)
    if not bookings_api.within_web_limit():
        return _form_page(form, {"form": TOO_MANY}, 429)
    refused = bookings_api.web_booking_refusal(office, day, people)
    if refused:
        return _form_page(form, {"form": refused.message}, refused.status)
    outcome = engine.book(
        office,
        day,
        form["time"],
        people,
        now=web.now(),
        channel=engine.WEB,
        idempotency_key=f"web:{form.get('attempt', '')[:64]}" if form.get("attempt") else "",
        client=f"address:{auth.client_address()}",
        rules=web.rules(),
    )
    bookings_api.web_booking_settled(outcome)
    if outcome.kind == engine.CONFIRMED:
        session[BOOKED] = outcome.booking.code
        return redirect(url_for(".done"))
    return _form_page(form, _errors_of(outcome), 409 if outcome.kind == engine.SLOT_FULL else 422, outcome)


@blueprint.get("/done")
def done():
    booking = engine.get(session.get(BOOKED, ""))
    if booking is None:
        return redirect(url_for(".form"))
    return render_template("book/done.html", booking=booking, what_to_bring=wording.WHAT_TO_BRING + wording.ON_THE_DAY)


@blueprint.get("/manage")
def manage():
    return _manage_page(engine.get(session.get(MANAGING, "")))


@blueprint.post("/manage")
def look_up():
    session.pop(MANAGING, None)
    code = request.form.get("code", "").strip().upper()
    # Only an applicant's own ID number opens the booking, so a guessed code shows nothing. Cancelled
    # and past bookings are shown too: a couple checking that their cancellation went through should see it.
    try:
        booking = auth.owned_booking(code, request.form.get("id_number", ""), time.time())
    except auth.LookupLimited:
        return _manage_page(None, auth.TOO_MANY_LOOKUPS, code=code), 429
    if booking is None:
        error = "没有找到与这个确认码和身份证号相符的预约，请核对后再试"
        return _manage_page(None, error, code=code), 404
    session[MANAGING] = booking.code
    return _manage_page(booking)


@blueprint.post("/cancel")
def cancel():
    code = session.get(MANAGING)
    if not code:
        return redirect(url_for(".manage"))
    outcome = engine.cancel(code, now=web.now(), rules=web.rules())
    if outcome.kind != engine.CANCELLED:
        return _manage_page(engine.get(code), outcome.message), 409
    session.pop(MANAGING, None)
    return render_template("book/cancelled.html", booking=outcome.booking)


@blueprint.get("/release")
def release_form():
    return render_template("book/release.html", error="")


@blueprint.post("/release")
def release():
    """Someone's ID number was used for a booking they did not make: both applicants' numbers release it
    (the booker's own number alone is not enough: then anyone who knew one victim's number could)."""
    try:
        auth.count_lookup(time.time())
    except auth.LookupLimited:
        return render_template("book/release.html", error=auth.TOO_MANY_LOOKUPS), 429
    numbers = [request.form.get(f"id_number_{i}", "") for i in (1, 2)]
    booking = engine.active_for_couple(*numbers) if all(numbers) else None
    if booking is None:
        error = "没有找到用这两个身份证号预约、仍然有效的预约，请核对后再试；也可携带身份证到登记处由工作人员查询"
        return render_template("book/release.html", error=error), 404
    auth.lookup_succeeded()
    outcome = engine.cancel(booking.code, now=web.now(), reason="released with both ID numbers", rules=web.rules())
    if outcome.kind != engine.CANCELLED:
        return render_template("book/release.html", error=outcome.message), 409
    return render_template("book/cancelled.html", booking=outcome.booking)


def _manage_page(booking: engine.Booking | None, error: str = "", code: str = ""):
    return render_template(
        "book/manage.html", booking=booking, error=error, code=code, status_names=wording.STATUS_NAMES
    )


def _form_page(form: dict, errors: dict, status: int = 200, outcome: engine.Outcome | None = None):
    now = web.now()
    rules = web.rules()
    office = web.office_arg(request.args.get("office") or form.get("office"))
    city = office.city if office else request.args.get("city", "")
    chosen_day = web.date_arg(request.args.get("date") or form.get("date"))
    calendar = []
    if office:
        days = window_days(now, rules)
        calendar = engine.availability_for([(office, d) for d in days], now=now, rules=rules)
    day_open = next((a for a in calendar if a.date == chosen_day), None)
    return render_template(
        "book/form.html",
        offices_by_city=web.offices_by_city(),
        city=city,
        office=office,
        calendar=calendar,
        day=day_open,
        form=form,
        errors=errors,
        alternatives=outcome.alternatives if outcome else (),
        people_fields=PEOPLE_FIELDS,
        attempt=form.get("attempt") or secrets.token_urlsafe(12),
        ceremony=ceremony_notice(rules),
        where_to_register=where_to_register(office, rules) if office else "",
    ), status


def _errors_of(outcome: engine.Outcome) -> dict:
    """The engine's refusal, keyed by the field it concerns ("form" for the whole booking)."""
    if outcome.kind == engine.IDEMPOTENCY_MISMATCH:  # this form was already sent with other answers
        return {"form": "这份表单已经提交过，请刷新页面后重新填写"}
    if outcome.fields:
        return dict(outcome.fields)
    if outcome.kind == engine.SLOT_FULL:
        return {"time": outcome.message + "，请换一个时段，或选下面的空位"}
    if outcome.kind == engine.ALREADY_BOOKED:
        return {"applicants": outcome.message}
    return {"form": outcome.message}
