"""The staff console's reading room: handbook questions without a good answer (with the button that
reloads the handbook after editors fix it) and the scheduler's daily summaries."""

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for

from bot import faq_misses, store
from bot.pages import web
from bot.pages.login import admin_required, staff_required
from knowledge import handbook

blueprint = Blueprint("reports", __name__, url_prefix="/admin")

MISSES_SHOWN = 50
# Where the scheduler's daily job is to write its summary: per date, a hash of office id → JSON
# {"booked", "checked_in", "no_show", "tomorrow"} (counts). Proposed here; the job does not exist yet.
SUMMARY_KEY = "summary:%s"
SUMMARY_FIELDS = (("booked", "预约"), ("checked_in", "签到"), ("no_show", "未到场"), ("tomorrow", "明日预约"))


@blueprint.get("/handbook")
@staff_required
def misses():
    return render_template("admin/handbook.html", misses=faq_misses.top(MISSES_SHOWN))


@blueprint.post("/handbook/reload")
@admin_required
def reload_handbook():
    ok, message = handbook.reload()
    flash(message, "message" if ok else "error")
    return redirect(url_for(".misses"))


@blueprint.get("/summaries")
@staff_required
def summaries():
    shown = web.date_arg(request.args.get("date")) or web.now().date()
    stored = store.client().hgetall(SUMMARY_KEY % shown.isoformat())
    names = {o.id: o.name for _, offices in web.offices_by_city() for o in offices}
    rows = [(names.get(office_id, office_id), json.loads(raw)) for office_id, raw in sorted(stored.items())]
    return render_template("admin/summaries.html", shown=shown, rows=rows, fields=SUMMARY_FIELDS)
