"""What the three pages share: the parent blueprint (templates, static files, security headers,
the session secret), the request's clock and booking rules, and reading an office or date argument."""

import logging
import secrets
from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface

from bot.bookings import slots, wording
from bot.bookings.dates import date_arg
from bot.bookings.slots import BookingRules
from bot.web.pages import csrf
from knowledge import offices as office_data
from knowledge.offices import Office

log = logging.getLogger(__name__)

blueprint = Blueprint(
    "pages", __name__, template_folder="../templates", static_folder="../static", static_url_path="/pages-static"
)

# Scripts and styles come only from our own static files, so injected markup cannot run anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PRIVATE_PATHS = ("/admin", "/book/")

blueprint.before_request(csrf.refuse_forged_posts)
blueprint.add_app_template_global(csrf.token, "csrf_token")


@blueprint.get("/")
def home():
    """Where a visitor to the bare address lands: what the service is, and where to go."""
    return render_template("home.html", development=current_app.config["TONGZHOU"].simulator_enabled)


@blueprint.record_once
def _configure_sessions(state) -> None:
    app = state.app
    if not app.secret_key:
        app.secret_key = _secret_key(app.config["TONGZHOU"].secret_key)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=8)
    app.session_interface = _SessionInterface()


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over TLS (directly, or through a proxy
    that says so in X-Forwarded-Proto, with PROXY_HOPS set), so it never travels in clear text."""

    def get_cookie_secure(self, app) -> bool:
        return super().get_cookie_secure(app) or request.is_secure

    _signer, _signer_keys = None, None

    def get_signing_serializer(self, app):
        # Flask builds the signer anew for every request, the webhook's too; build it once per key.
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signer_keys != keys:
            self._signer, self._signer_keys = super().get_signing_serializer(app), keys
        return self._signer


def _secret_key(key: str) -> str:
    if not key:
        # Fine for one process on a laptop; with several workers each would reject the others' cookies.
        log.warning("SECRET_KEY is not set: using a random key, so logins end when the process restarts")
        key = secrets.token_hex(32)
    return key


@blueprint.after_request
def _security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.path.startswith(PRIVATE_PATHS):
        # Staff screens and a couple's booking: no copy in the browser's or a proxy's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.app_template_filter("cn_date")
def cn_date(day: date) -> str:
    """5月19日（周二）"""
    return wording.day_cn(day)


def now() -> datetime:
    """This request's time. Tests fix it with app.config["PAGES_CLOCK"], a function returning an aware datetime."""
    clock = current_app.config.get("PAGES_CLOCK")
    return clock() if clock else datetime.now(current_app.config["TONGZHOU"].tz)


def rules() -> BookingRules:
    """The booking rules (the same the chat and the JSON API use), with the staff's epidemic-mode switch applied."""
    return slots.rules()


def office_arg(raw: str | None) -> Office | None:
    return office_data.current().get(raw or "")


def offices_by_city() -> list[tuple[str, list[Office]]]:
    registry = office_data.current()
    return [(city, registry.in_city(city)) for city in registry.cities()]


def read_booking_form(form: dict, date_field: str) -> tuple[Office | None, date | None, list[dict], dict]:
    """A booking form's office, date, couple and the errors of what is missing (the staff phone form
    and the citizen's form share field names, which match the engine's error keys)."""
    office, day = office_arg(form.get("office")), date_arg(form.get(date_field))
    errors = {}
    if office is None:
        errors["office"] = "请选择登记处"
    if day is None:
        errors["date"] = "请选择日期"
    if not form.get("time"):
        errors["time"] = "请选择时段"
    people = [
        {"name": form.get(f"applicants[{i}].name", ""), "id_number": form.get(f"applicants[{i}].id_number", "")}
        for i in (0, 1)
    ]
    return office, day, people, errors
