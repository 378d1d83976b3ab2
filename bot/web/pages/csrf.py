"""CSRF protection for every POST the pages accept: a random token in the signed session cookie,
echoed by each form (hidden field `csrf_token`) or by the simulator's fetch (header X-CSRF-Token)."""

import hmac
import secrets

from flask import Response, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def refuse_forged_posts() -> Response | None:
    """A blueprint's before_request: a POST without the session's token is turned away."""
    if request.method != "POST":
        return None
    expected = session.get(FIELD, "")
    given = request.form.get(FIELD) or request.headers.get(HEADER, "")
    if expected and given and hmac.compare_digest(expected.encode(), given.encode()):
        return None
    return Response("页面已过期，请返回上一页刷新后再提交。", status=400, mimetype="text/plain")
