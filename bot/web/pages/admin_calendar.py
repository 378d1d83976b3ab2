"""The staff console's calendar (admins only): close a date for one office or the whole province
(cancelling its bookings and queueing notices), reopen it, set a peak date's capacity, and switch
epidemic mode."""

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for

from bot.bookings import closures, engine, slots
from bot.web.pages import web
from bot.web.pages.login import admin_required

blueprint = Blueprint("calendar", __name__, url_prefix="/admin/calendar")

LISTED_DAYS = 31  # closures and peaks shown from today on


@blueprint.get("")
@admin_required
def overview():
    return _overview_page({}, {})


def _overview_page(form: dict, errors: dict, status: int = 200):
    today = web.now().date()
    days = [today + timedelta(days=i) for i in range(LISTED_DAYS)]
    registry_names = {o.id: o.name for _, offices in web.offices_by_city() for o in offices}
    closed = [
        (day, office_id, registry_names.get(office_id, "全省"), reason)
        for day in days
        for office_id, reason in sorted(closures.closures_on(day).items())
    ]
    peaks = [(day, peak) for day in days if (peak := closures.peak(day))]
    return render_template(
        "admin/calendar.html",
        today=today,
        listed_days=LISTED_DAYS,
        closed=closed,
        peaks=peaks,
        epidemic_on=web.rules().epidemic_mode,
        calendar_warning=slots.calendar_warning(web.now(), web.rules()),
        official_year=form.get("year") or str(today.year + 1),
        offices_by_city=web.offices_by_city(),
        province=closures.PROVINCE,
        form=form,
        errors=errors,
    ), status


@blueprint.post("/close")
@admin_required
def close():
    form = request.form.to_dict()
    day = web.date_arg(form.get("date"))
    office_id = form.get("office", closures.PROVINCE)
    office = None if office_id == closures.PROVINCE else web.office_arg(office_id)
    errors = {}
    if day is None:
        errors["date"] = "请选择要停办的日期"
    elif day < web.now().date():
        errors["date"] = "这一天已经过去了"
    if office is None and office_id != closures.PROVINCE:
        errors["office"] = "没有这个登记处"
    if not form.get("reason", "").strip():
        errors["reason"] = "请填写停办原因，它会写进发给预约群众的通知"
    if not form.get("confirm"):
        errors["confirm"] = "请勾选确认：这一天的预约会全部取消"
    if errors:
        return _overview_page(form, errors, 422)
    cancelled, dropped = engine.close(day, form["reason"].strip(), now=web.now(), office=office, rules=web.rules())
    where = office.name if office else "全省"
    flash(f"已停办{where}{web.cn_date(day)}：取消{cancelled}个预约、{dropped}个候补，已排队通知相关群众")
    return redirect(url_for(".overview"))


@blueprint.post("/reopen")
@admin_required
def reopen():
    day = web.date_arg(request.form.get("date"))
    if day:
        closures.reopen(day, request.form.get("office", closures.PROVINCE))
        flash(f"{web.cn_date(day)}已恢复预约；此前被取消的预约不会恢复，需群众重新预约")
    return redirect(url_for(".overview"))


@blueprint.post("/peak")
@admin_required
def set_peak():
    form = request.form.to_dict()
    day = web.date_arg(form.get("peak_date"))
    errors = {}
    if day is None:
        errors["peak_date"] = "请选择日期"
    try:
        capacity = int(form.get("capacity", ""))
        if capacity < 0:
            raise ValueError
    except ValueError:
        errors["capacity"] = "每个时段可约对数应为0或正整数"
    if errors:
        return _overview_page(form, errors, 422)
    label = form.get("label", "").strip() or "高峰日"
    closures.set_peak(day, capacity, label)
    flash(f"{web.cn_date(day)}设为{label}：每个时段{capacity}对")
    return redirect(url_for(".overview"))


@blueprint.post("/peak/clear")
@admin_required
def clear_peak():
    day = web.date_arg(request.form.get("date"))
    if day:
        closures.clear_peak(day)
        flash(f"{web.cn_date(day)}恢复为各登记处的常规容量")
    return redirect(url_for(".overview"))


@blueprint.post("/official-days")
@admin_required
def set_official_days():
    """The State Council's 放假/调休 announcement for a year, one line a day; it replaces the year's entry."""
    form = request.form.to_dict()
    year = int(form["year"]) if form.get("year", "").isascii() and form.get("year", "").isdigit() else 0
    if not 2000 <= year <= 2100:
        return _overview_page(form, {"year": "请填写四位数的年份"}, 422)
    try:
        days = closures.parse_official_days(year, form.get("days", ""))
    except ValueError as problem:
        return _overview_page(form, {"days": str(problem)}, 422)
    closures.set_official_days(year, days)
    off = sum(name != closures.WORKING_DAY for name in days.values())
    flash(f"已保存{year}年的放假安排：放假{off}天、调休上班{len(days) - off}天")
    return redirect(url_for(".overview"))


@blueprint.post("/epidemic")
@admin_required
def switch_epidemic_mode():
    on = request.form.get("on") == "1"
    slots.set_epidemic_mode(on)
    flash("已开启疫情防控模式：颁证仪式暂停" if on else "已关闭疫情防控模式")
    return redirect(url_for(".overview"))
