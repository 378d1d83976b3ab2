"""The staff console's reading room: handbook questions without a good answer (with the button that
reloads the handbook after editors fix it) and the scheduler's daily summaries."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from bot import faq_misses
from bot.bookings import summaries
from bot.web.pages import web
from bot.web.pages.login import admin_required, staff_login_required
from knowledge import handbook

blueprint = Blueprint("reports", __name__, url_prefix="/admin")

MISSES_SHOWN = 50


@blueprint.get("/handbook")
@staff_login_required
def misses():
    return render_template("admin/handbook.html", misses=faq_misses.top(MISSES_SHOWN))


@blueprint.post("/handbook/reload")
@admin_required
def reload_handbook():
    ok, message = handbook.reload()
    flash(message, "message" if ok else "error")
    return redirect(url_for(".misses"))


@blueprint.get("/summaries", endpoint="summaries")
@staff_login_required
def daily_summaries():
    shown = web.date_arg(request.args.get("date")) or web.now().date()
    names = {o.id: o.name for _, offices in web.offices_by_city() for o in offices}
    rows = [(names.get(office_id, office_id), counts) for office_id, counts in sorted(summaries.read(shown).items())]
    return render_template("admin/summaries.html", shown=shown, rows=rows, fields=summaries.FIELDS.items())
