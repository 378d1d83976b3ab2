"""Logging staff in and out of the console, and the guards its views wear.

The signed cookie carries only a random session id; the session itself lives in Redis
(`staff.open_session`), so logging out ends it even for a copy of the cookie.
"""

from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from bot.web.auth import client_address
from bot.web.pages import staff

blueprint = Blueprint("login", __name__, url_prefix="/admin")

SESSION_ID = "staff_session"


def current_account() -> staff.Account | None:
    """The logged-in account, looked up afresh so a removed account is logged out at once."""
    if "account" not in g:
        g.account = staff.session_account(session.get(SESSION_ID, ""))
    return g.account


def staff_login_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        if current_account() is None:
            return redirect(url_for("pages.login.form", next=request.path))
        return view(*args, **kwargs)

    return guarded


def admin_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        account = current_account()
        if account is None:
            return redirect(url_for("pages.login.form", next=request.path))
        if not account.is_admin:
            return render_template("admin/forbidden.html"), 403
        return view(*args, **kwargs)

    return staff_login_required(guarded)


@blueprint.get("/login")
def form():
    return render_template("admin/login.html", error="", username="")


@blueprint.post("/login")
def log_in():
    staff.ensure_first_admin(current_app.config["TONGZHOU"].admin_token)
    username = request.form.get("username", "")
    try:
        account = staff.authenticate(username, request.form.get("password", ""), client_address())
    except staff.Locked as locked:
        return render_template("admin/login.html", error=str(locked), username=username), 429
    if account is None:
        return render_template("admin/login.html", error="用户名或密码不对", username=username), 401
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    session.permanent = True
    session[SESSION_ID] = staff.open_session(account)
    flash(f"欢迎，{account.username}")
    return redirect(_safe_next(request.args.get("next", "")))


@blueprint.post("/logout")
def log_out():
    staff.close_session(session.get(SESSION_ID, ""))
    session.clear()
    return redirect(url_for("pages.login.form"))


def _safe_next(target: str) -> str:
    """Only paths inside the console: never an open redirect to another site."""
    if target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("pages.admin.day")
