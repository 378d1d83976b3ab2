"""The staff console's office work: the day view and week heat map, check-in by code, marking one
couple (or, province-wide, every overdue couple) as no-show, booking for a caller on the phone,
finding a booking by the ID number of the person at the counter and cancelling it with a reason,
and a day's bookings as CSV."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from bot.bookings import calendar, closures, engine, slots, wording
from bot.web.pages import web
from bot.web.pages.login import staff_login_required
from knowledge import offices as office_data
from knowledge.offices import Office

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
OPEN_DAY_SEARCH_DAYS = 31  # longer than any holiday run (Spring Festival with its 调休)

HEAT_MAP_DAYS = 7
HEAT_LEVELS = 4  # cells are shaded 0 (empty) to 4 (full)
PEOPLE_FIELDS = ("applicants[0].name", "applicants[0].id_number", "applicants[1].name", "applicants[1].id_number")
CSV_COLUMNS = ("确认码", "日期", "时段", "状态", "渠道", "申请人1", "身份证号1", "申请人2", "身份证号2", "电话")
REASON_CHARS = 200
FORMULA_STARTS = ("=", "+", "-", "@")
CHANNEL_NAMES = {engine.WECHAT: "微信", engine.WEB: "网上", engine.PHONE: "电话"}


@dataclass(frozen=True)
class SlotLoad:
    time: str
    capacity: int
    booked: int
    checked_in: int
    no_show: int

    @property
    def level(self) -> int:
        """Heat-map shade: how full the slot is, in HEAT_LEVELS steps (rounded up, so one couple shows)."""
        if not self.capacity:
            return HEAT_LEVELS if self.booked else 0
        return min(HEAT_LEVELS, -(-self.booked * HEAT_LEVELS // self.capacity))


@dataclass(frozen=True)
class DayLoad:
    date: date
    closed: str  # the staff closure's reason, "" when none
    day_off: str  # why the statutory calendar closes the day (周末, a holiday), "" on working days
    slots: tuple[SlotLoad, ...]


def day_load(office: Office, day: date, held: list[engine.Booking]) -> DayLoad:
    staff_peak = closures.peak(day)
    capacity = slots.capacity(office, day, web.rules(), staff_peak[0] if staff_peak else None)
    loads = []
    for hhmm in slots.slot_times(office):
        here = [b.status for b in held if b.time == hhmm]
        loads.append(
            SlotLoad(
                hhmm,
                capacity,
                sum(s in engine.HELD_A_PLACE for s in here),
                here.count(engine.CHECKED_IN),
                here.count(engine.NO_SHOW),
            )
        )
    return DayLoad(day, closures.reason(office.id, day), calendar.calendar_reason(day), tuple(loads))


@blueprint.get("")
@staff_login_required
def day():
    return _day_page()


def _day_page(phone_form: dict | None = None, phone_errors: dict | None = None, status: int = 200):
    office = web.office_arg(request.values.get("office") or session.get("office")) or office_data.current().all()[0]
    session["office"] = office.id
    now = web.now()
    today = now.date()
    # Staff arriving on a closed day (a weekend, a holiday, a closure) see the next day with couples.
    shown = web.date_arg(request.values.get("date")) or _first_open_day(office, today)
    booked = engine.on_day(office.id, shown)
    week = [shown + timedelta(days=i) for i in range(HEAT_MAP_DAYS)]
    heat = [day_load(office, d, booked if d == shown else engine.on_day(office.id, d)) for d in week]
    return render_template(
        "admin/day.html",
        office=office,
        offices_by_city=web.offices_by_city(),
        shown=shown,
        today=today,
        load=heat[0],
        heat=heat,
        times=slots.slot_times(office),
        bookings=booked,
        status_names=wording.STATUS_NAMES,
        channel_names=CHANNEL_NAMES,
        # A caller can be booked from the first day the window allows that the office is open.
        phone_form=phone_form
        or {"booking_date": _first_open_day(office, slots.first_bookable_day(now, web.rules())).isoformat()},
        phone_errors=phone_errors or {},
        people_fields=PEOPLE_FIELDS,
        mask_phone=mask_phone,
        where_to_register=slots.where_to_register(office, web.rules()),
        calendar_warning=slots.calendar_warning(web.now(), web.rules()),
    ), status


def _first_open_day(office: Office, start: date) -> date:
    """`start`, or the first day after it that is neither off by the calendar nor closed at `office`."""
    for day in (start + timedelta(days=n) for n in range(OPEN_DAY_SEARCH_DAYS)):
        if not calendar.calendar_reason(day) and not closures.reason(office.id, day):
            return day
    return start


@blueprint.post("/checkin")
@staff_login_required
def check_in():
    office = web.office_arg(request.form.get("office"))
    if office is None:
        flash("请先选择登记处", "error")
        return redirect(url_for(".day"))
    outcome = engine.check_in(request.form.get("code", ""), office.id, now=web.now(), rules=web.rules())
    if outcome.kind == engine.CHECKED_IN:
        b = outcome.booking
        flash(f"{b.code} {b.time} {'、'.join(b.names)}：{outcome.message}")
    else:
        flash(outcome.message, "error")
    return redirect(url_for(".day", office=office.id, date=request.form.get("date")))


@blueprint.post("/no-show")
@staff_login_required
def mark_no_show():
    outcome = engine.mark_no_show(request.form.get("code", ""), now=web.now(), rules=web.rules())
    if outcome.kind == engine.NO_SHOW:
        b = outcome.booking
        flash(f"{b.code} {b.time} {'、'.join(b.names)}：{outcome.message}")
    else:
        flash(outcome.message, "error")
    return redirect(url_for(".day", office=request.form.get("office"), date=request.form.get("date")))


@blueprint.post("/no-shows")
@staff_login_required
def settle_no_shows():
    marked, suspended = engine.mark_no_shows(web.now(), web.rules())
    note = f"，其中{suspended}人因多次未到场暂停网上预约" if suspended else ""
    flash(f"已把{marked}个过了签到时间仍未签到的预约记为未到场{note}")
    return redirect(url_for(".day", office=request.form.get("office"), date=request.form.get("date")))


@blueprint.post("/phone-booking")
@staff_login_required
def phone_booking():
    form = request.form.to_dict()
    office, day_asked, people, errors = web.read_booking_form(form, "booking_date")
    if not engine.is_phone_number(form.get("phone", "").strip()):
        errors["phone"] = "请填写来电人的联系电话，方便登记处回电"
    if errors:
        return _day_page(form, errors, 422)
    outcome = engine.book(
        office,
        day_asked,
        form["time"],
        people,
        now=web.now(),
        channel=engine.PHONE,
        phone=form["phone"].strip(),
        rules=web.rules(),
    )
    if outcome.kind != engine.CONFIRMED:
        errors = dict(outcome.fields) or {"applicants": outcome.message}
        if outcome.kind == engine.SLOT_FULL:
            free = "、".join(f"{a.office_name}{a.date:%m-%d} {a.time}" for a in outcome.alternatives[:3])
            errors = {"time": outcome.message + (f"。可选：{free}" if free else "")}
        return _day_page(form, errors, 422)
    b = outcome.booking
    flash(
        f"电话预约成功：确认码 {b.code}，{b.office_name} {b.date:%m月%d日} {b.time}。"
        f"请把确认码告诉来电人，并告知：{wording.WHAT_TO_BRING}"
    )
    return redirect(url_for(".day", office=office.id, date=day_asked.isoformat()))


@blueprint.get("/lookup")
@staff_login_required
def lookup_form():
    return render_template("admin/lookup.html", booking=None, error="", status_names=wording.STATUS_NAMES)


@blueprint.post("/lookup")
@staff_login_required
def look_up_by_id_number():
    """The person at the counter shows their ID card: the active booking made with that number, if any
    (also one someone else made with it, which they may want cancelled)."""
    booking = engine.active_for_id(request.form.get("id_number", ""))
    error = "" if booking else "没有用这个身份证号做的有效预约"
    return render_template(
        "admin/lookup.html", booking=booking, error=error, status_names=wording.STATUS_NAMES
    ), 200 if booking else 404


@blueprint.post("/cancel")
@staff_login_required
def cancel_with_reason():
    reason = request.form.get("reason", "").strip()[:REASON_CHARS]
    if not reason:
        flash("请填写取消原因，它会记入预约的历史", "error")
        return redirect(url_for(".lookup_form"))
    outcome = engine.cancel(
        request.form.get("code", ""), now=web.now(), by_staff=True, reason=reason, rules=web.rules()
    )
    if outcome.kind == engine.CANCELLED:
        b = outcome.booking
        flash(f"已取消 {b.code}（{b.office_name} {b.date:%m月%d日} {b.time}），原因：{reason}")
    else:
        flash(outcome.message, "error")
    return redirect(url_for(".lookup_form"))


@blueprint.get("/export.csv")
@staff_login_required
def export_csv():
    office = web.office_arg(request.args.get("office"))
    shown = web.date_arg(request.args.get("date"))
    if office is None or shown is None:
        return Response("请指定登记处和日期", status=400, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for b in engine.on_day(office.id, shown):
        names = (*b.names, "", "")[:2]
        numbers = (*b.id_numbers, "", "")[:2]
        row = (
            b.code,
            b.date.isoformat(),
            b.time,
            wording.STATUS_NAMES.get(b.status, b.status),
            CHANNEL_NAMES.get(b.channel, b.channel),
            names[0],
            numbers[0],
            names[1],
            numbers[1],
            mask_phone(b.phone),
        )
        writer.writerow(map(spreadsheet_safe, row))
    # The BOM lets Excel on Windows read the file as UTF-8; ID numbers are stored masked, so they export masked.
    body = "\ufeff" + out.getvalue()
    filename = f"bookings-{office.id}-{shown.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (= + - @ first) gets a leading ' and stays text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise a caller, not to dial a stranger's number from a printout."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "*" * len(digits)
