"""`/wechat`: the callback URL configured in the Official Account.

A plain WSGI app mounted in front of Flask by create_app (`mount`): every message of every citizen
comes through here, and Flask's per-request machinery (request and app contexts, URL matching,
hooks, the Response object) cost more CPU than verifying, parsing and rendering a message together.
Nothing here needs it: the query string, the body and the reply are all this endpoint uses. Every
other path goes on to Flask.
"""

import logging
import os
import time
from http import HTTPStatus
from urllib.parse import parse_qsl

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from bot.chat import pipeline
from bot.logs import hash_openid, log_request
from bot.web import metrics
from bot.wechat import protocol

PATH = "/wechat"
_XML = [("Content-Type", "application/xml; charset=utf-8")]
_PLAIN = [("Content-Type", "text/plain; charset=utf-8")]

log = logging.getLogger(__name__)


def mount(flask_wsgi_app, config, max_body_bytes: int):
    """The WSGI callable that answers /wechat itself and hands every other request to Flask."""

    def wsgi_app(environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return flask_wsgi_app(environ, start_response)
        started = time.perf_counter()
        # Sixteen hex digits, straight from os.urandom: a UUID object per request cost five times more.
        request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or os.urandom(8).hex()
        args = _query(environ)
        method = environ["REQUEST_METHOD"]
        try:
            if method == "POST":
                status, body, headers = _receive(config, environ, args, request_id, started, max_body_bytes)
            elif method in ("GET", "HEAD"):
                status, body, headers = _verify_url(config, args, request_id, started)
            else:
                status, body, headers = 405, b"method not allowed", [*_PLAIN, ("Allow", "GET, HEAD, POST")]
        except protocol.Rejected as rejected:
            _log(request_id, started, rejected.status, reason=rejected.reason)
            text = "forbidden" if rejected.status == 403 else "bad request"
            status, body, headers = rejected.status, text.encode(), _PLAIN
        except Exception:  # the pipeline answers its own failures; this is a bug: no stack trace leaves
            log.exception("request %s: unhandled error", request_id)
            status, body, headers = 500, b"internal error", _PLAIN
        start_response(f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    return wsgi_app


def _query(environ) -> dict[str, str]:
    """The query string's fields, the first of each name (as werkzeug's MultiDict gives them), in a
    plain dict: a MultiDict and its lookups cost more than verifying the signature."""
    args = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        args.setdefault(name, value)
    return args


def _verify_url(config, args: dict, request_id: str, started: float):
    """WeChat's one-time URL check: prove we know the token by echoing `echostr`."""
    protocol.check_envelope(config, protocol.Envelope.from_args(args))
    _log(request_id, started, 200)
    return 200, args.get("echostr", "").encode(), _PLAIN


def _receive(config, environ, args: dict, request_id: str, started: float, max_body_bytes: int):
    try:
        body = get_input_stream(environ, max_content_length=max_body_bytes).read()
    except RequestEntityTooLarge:
        _log(request_id, started, 413, reason="body too large")
        return 413, b"request entity too large", _PLAIN
    outcome = pipeline.handle_post(config, protocol.Envelope.from_args(args), body, request_id)
    _log(request_id, started, 200, outcome.openid, outcome.msg_type, outcome.intent)
    metrics.observe_message(outcome.msg_type, outcome.intent, time.perf_counter() - started)
    return 200, outcome.body.encode(), _XML if outcome.body.startswith("<") else _PLAIN


def _log(request_id: str, started: float, status: int, openid="", msg_type="", intent="", reason="") -> None:
    fields = {
        "request_id": request_id,
        "status": status,
        "openid": hash_openid(openid),
        "msg_type": msg_type,
        "intent": intent,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if reason:
        fields["reason"] = reason
    log_request(fields)
