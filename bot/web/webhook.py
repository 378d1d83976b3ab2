"""`/wechat`: the callback URL configured in the Official Account."""

import time
import uuid

from flask import Blueprint, Response, current_app, g, request

from bot.chat import pipeline
from bot.logs import hash_openid, log_request
from bot.web import metrics
from bot.wechat import protocol

blueprint = Blueprint("wechat", __name__)


@blueprint.before_app_request
def _start_clock():
    g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
    g.started = time.perf_counter()


@blueprint.get("/wechat")
def verify_url():
    """WeChat's one-time URL check: prove we know the token by echoing `echostr`."""
    config = current_app.config["TONGZHOU"]
    try:
        protocol.check_envelope(config, protocol.Envelope.from_args(request.args))
    except protocol.Rejected as rejected:
        return _refuse(rejected)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@blueprint.post("/wechat")
def receive():
    config = current_app.config["TONGZHOU"]
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: Flask answers 413 here
    try:
        outcome = pipeline.handle_post(config, protocol.Envelope.from_args(request.args), body, g.request_id)
    except protocol.Rejected as rejected:
        return _refuse(rejected)
    _log(200, outcome.openid, outcome.msg_type, outcome.intent)
    metrics.observe_message(outcome.msg_type, outcome.intent, time.perf_counter() - g.started)
    return Response(outcome.body, mimetype="application/xml" if outcome.body.startswith("<") else "text/plain")


def _refuse(rejected: protocol.Rejected):
    _log(rejected.status, reason=rejected.reason)
    return Response(
        "forbidden" if rejected.status == 403 else "bad request", status=rejected.status, mimetype="text/plain"
    )


def _log(status: int, openid: str = "", msg_type: str = "", intent: str = "", reason: str = "") -> None:
    fields = {
        "request_id": g.request_id,
        "status": status,
        "openid": hash_openid(openid),
        "msg_type": msg_type,
        "intent": intent,
        "latency_ms": round((time.perf_counter() - g.started) * 1000, 1),
    }
    if reason:
        fields["reason"] = reason
    log_request(**fields)
