"""What operators and load balancers ask the running service.

`GET /healthz/live`: the process answers (restart it if not). `GET /healthz` (also `/healthz/ready`):
ready for traffic — Redis answers and accepts a write, and the knowledge (offices, handbook) is
loaded; 503 otherwise, so a load balancer sends citizens elsewhere.

`GET /metrics`: the service's counters in Prometheus's text format, for the staff token only.

The chat's own figures are defined here and counted by the webhook (`observe_message`); the
booking engine, the store and outbound messages define and count theirs where they happen. Under
gunicorn every worker (and a scheduler on the same host) writes its values to files in
`PROMETHEUS_MULTIPROC_DIR`, and a scrape adds them up (prometheus_client's multiprocess mode), so
whichever worker answers, the figures are the whole service's.
"""

import functools
import hmac
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot import queue, store
from bot.web import auth
from knowledge import handbook, offices

blueprint = Blueprint("metrics", __name__)
disable_created_metrics()  # the *_created series double every counter for nothing an operator reads

MESSAGES = Counter(
    "tongzhou_messages", "WeChat messages answered, by WeChat message type and intent", ["type", "intent"]
)
REPLY_SECONDS = Histogram(
    "tongzhou_reply_seconds",
    "Time from a WeChat POST arriving to its reply leaving (WeChat gives up at 5 s)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5),
)
RETRIES_DEDUPED = Counter("tongzhou_wechat_retries_deduped", "WeChat retries answered with the first reply, not run")
RATE_LIMITED = Counter("tongzhou_rate_limited_messages", "Messages from users over the per-minute limit, not run")
HANDBOOK = Counter("tongzhou_handbook_questions", "Handbook questions, by what the citizen got", ["result"])

# Intents that tell something beyond "a message": which counter they also go to.
_ALSO_COUNTED = {
    "retry": RETRIES_DEDUPED,
    "rate_limited": RATE_LIMITED,
    "faq.answer": HANDBOOK.labels("answered"),
    "faq.suggest": HANDBOOK.labels("suggested"),
    "faq.not_covered": HANDBOOK.labels("not_covered"),
}


def observe_message(msg_type: str, intent: str, seconds: float) -> None:
    _message_counter(msg_type or "-", intent or "-").inc()
    REPLY_SECONDS.observe(seconds)
    also = _ALSO_COUNTED.get(intent)
    if also is not None:
        also.inc()


# A few dozen (type, intent) pairs; `.labels` costs a lock and a dict lookup each time.
@functools.lru_cache(maxsize=512)
def _message_counter(msg_type: str, intent: str):
    return MESSAGES.labels(msg_type, intent)


class SchedulerLag:
    """How late the scheduler is: the age of the oldest due item, read from Redis at scrape time
    (a figure of the shared queue, not of any one process)."""

    def collect(self):
        lag = GaugeMetricFamily(
            "tongzhou_scheduler_lag_seconds", "Seconds the oldest due scheduler item has waited (0: nothing overdue)"
        )
        try:
            oldest = queue.oldest_due()
        except store.UNAVAILABLE:
            return  # the store's own error counter says why; no figure beats a wrong one
        now = datetime.now(UTC)
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield lag


REGISTRY.register(SchedulerLag())


def _registry():
    directory = current_app.config["TONGZHOU"].prometheus_multiproc_dir
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(SchedulerLag())
    return registry


@blueprint.get("/healthz/live")
def live():
    return jsonify(status="alive")


@blueprint.get("/healthz")
@blueprint.get("/healthz/ready")
def ready():
    redis_ok = store.reachable()
    knowledge = {"offices": len(offices.current().all()), "handbook": len(handbook.current().entries)}
    if redis_ok and all(knowledge.values()):
        return jsonify(status="ok", redis="ok", knowledge=knowledge)
    return jsonify(status="unavailable", redis="ok" if redis_ok else "unreachable", knowledge=knowledge), 503


@blueprint.get("/metrics")
def metrics():
    try:
        check = auth.staff_check()
    except store.UNAVAILABLE:
        # Redis down is when operators need the figures most. Guesses can't be counted meanwhile,
        # so only the exact token passes (and nginx lets only private addresses reach /metrics).
        check = auth.STAFF if _token_matches() else auth.WRONG
    if check != auth.STAFF:
        return auth.refusal(check) or auth.unauthorized()
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _token_matches() -> bool:
    expected, given = current_app.config["TONGZHOU"].admin_token, auth.bearer_token()
    return bool(expected and given) and hmac.compare_digest(given.encode(), expected.encode())
