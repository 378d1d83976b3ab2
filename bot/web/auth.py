"""Staff authentication for the JSON endpoints: `Authorization: Bearer $ADMIN_TOKEN`.

One check for every endpoint that gives staff more than citizens (`staff_check`). Every request
that carries a token counts as a guess of it, per client address, before the token is compared
(`ratelimit.attempt`); a right token gives its count back. More than TOKEN_GUESSES wrong tokens in
TOKEN_LOCK_SECONDS get 429 without the token being looked at. Nothing sleeps: a worker is never
held up by a guesser. No token at all is a citizen (or 401 where staff are required).
"""

import hmac
from functools import wraps

from flask import current_app, jsonify, request

from bot.bookings import engine
from bot.web import ratelimit

TOKEN_GUESSES = 10
TOKEN_LOCK_SECONDS = 15 * 60

CITIZEN = "citizen"  # no token: what the endpoint allows everyone
STAFF = "staff"
WRONG = "wrong"
LOCKED = "locked"


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def client_address() -> str:
    """The client as the per-IP limits see it (the proxy's X-Forwarded-For when PROXY_HOPS is set)."""
    return request.remote_addr or "unknown"


def staff_check() -> str:
    """CITIZEN, STAFF, WRONG or LOCKED for this request (never STAFF when no token is configured)."""
    given = bearer_token()
    if not given:
        return CITIZEN
    bucket = f"staff-token:{client_address()}"
    if ratelimit.attempt({bucket: TOKEN_GUESSES}, TOKEN_LOCK_SECONDS) < 0:
        return LOCKED
    expected = current_app.config["TONGZHOU"].admin_token
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        ratelimit.forgive([bucket])
        return STAFF
    return WRONG


def refusal(check: str):
    """The answer to a request whose token is wrong or locked out (None for CITIZEN and STAFF)."""
    if check == LOCKED:
        return jsonify(error="rate_limited", message="工作人员令牌错误次数过多，请15分钟后再试"), 429
    if check == WRONG:
        return unauthorized()
    return None


def unauthorized():
    return jsonify(error="unauthorized", message="需要工作人员令牌"), 401


def staff_token_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        check = staff_check()
        if check != STAFF:
            return refusal(check) or unauthorized()
        return view(*args, **kwargs)

    return guarded


# --- citizens: a booking is theirs when they know one applicant's ID number ------------------------

LOOKUPS_PER_MINUTE = 10
LOOKUP_FAILURES = 10  # wrong code/ID pairs per client before look-ups are refused for the lock period
LOOKUP_LOCK_SECONDS = 60 * 60
TOO_MANY_LOOKUPS = "查询过于频繁或核对失败次数过多，请稍后再试；也可携带身份证到登记处由工作人员查询"


class LookupLimited(Exception):
    """Too many look-ups, or too many wrong ones, from this client."""


def count_lookup(now: float) -> None:
    """Count one look-up of a booking by something only its couple knows; LookupLimited past the limits."""
    client = client_address()
    if (
        not ratelimit.allow(f"lookup:{client}", LOOKUPS_PER_MINUTE, 60, now)
        or ratelimit.attempt({_lookup_failures(): LOOKUP_FAILURES}, LOOKUP_LOCK_SECONDS) < 0
    ):
        raise LookupLimited


def lookup_succeeded() -> None:
    """The look-up found the booking: it does not count as a failure."""
    ratelimit.forgive([_lookup_failures()])


def owned_booking(code: str, id_number: str, now: float):
    """The booking with this code if `id_number` is one of its applicants' (keyed-hash comparison), else
    None. Every look-up counts per client; a wrong one keeps counting: LookupLimited past the limits."""
    count_lookup(now)
    booking = engine.matches_id(code, id_number) if code and id_number else None
    if booking is not None:
        lookup_succeeded()
    return booking


def _lookup_failures() -> str:
    return f"booking-lookup:{client_address()}"


# --- real-name verification: the hook ---------------------------------------------------------------

# Checks a web booking's two applicants must pass: each is a function ([{"name", "id_number"}, …]) → ""
# when they are verified, or the Chinese reason they are not. Empty today: a web booking proves only
# that the numbers are well formed. A real-name service (WeChat's 实名认证, the department's own) added
# here would stop bookings made with someone else's ID number; README's security section says more.
REAL_NAME_CHECKS: list = []
