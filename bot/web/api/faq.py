"""Staff endpoints for the handbook's editors: test a question, see what went unanswered, reload.

All need the staff token. Reload swaps the handbook in the worker process that serves the
request only; with several gunicorn workers, a graceful restart (HUP) reloads them all.
"""

from flask import Blueprint, jsonify, request

from bot import faq_misses
from bot.web.auth import staff_token_required
from knowledge import handbook
from knowledge.normalize import normalize

blueprint = Blueprint("faq", __name__, url_prefix="/api/v1/faq")

MAX_LIMIT = 50


def _limit(default: int) -> int:
    return max(1, min(request.args.get("limit", default, type=int) or default, MAX_LIMIT))


@blueprint.get("/search")
@staff_token_required
def search():
    question = request.args.get("q", "").strip()
    if not question:
        return jsonify(error="bad_request", message="缺少参数 q（要测试的问题）"), 400
    book = handbook.current()
    results = [
        {"id": entry.id, "question": entry.question, "category": entry.category, "score": round(score, 4)}
        for entry, score in book.search(question, limit=_limit(10))
    ]
    decision = book.decide(question)
    return jsonify(query=question, normalized=normalize(question), decision=decision.kind, results=results)


@blueprint.get("/misses")
@staff_token_required
def misses():
    return jsonify(misses=faq_misses.top(_limit(MAX_LIMIT)))


@blueprint.post("/reload")
@staff_token_required
def reload():
    ok, message = handbook.reload()
    status = 200 if ok else 422
    return jsonify(ok=ok, message=message, entries=len(handbook.current().entries)), status
