"""Staff authentication for the JSON endpoints: `Authorization: Bearer $ADMIN_TOKEN`.

The app's Config sits in `current_app.config["TONGZHOU"]`. A wrong token costs the caller a
short delay so guessing is slow; no token at all is answered at once. Both are 401.
"""

import hmac
import time
from functools import wraps

from flask import current_app, jsonify, request

WRONG_TOKEN_DELAY_SECONDS = 0.5


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def is_staff() -> bool:
    """True when the request carries the configured staff token (never when none is configured)."""
    expected = current_app.config["TONGZHOU"].admin_token
    given = bearer_token()
    return bool(expected and given) and hmac.compare_digest(given.encode(), expected.encode())


def staff_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        if not is_staff():
            if bearer_token():
                time.sleep(WRONG_TOKEN_DELAY_SECONDS)
            return jsonify(error="unauthorized", message="需要工作人员令牌"), 401
        return view(*args, **kwargs)

    return guarded
