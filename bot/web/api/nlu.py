"""`POST /api/v1/nlu/parse` (staff): what the chat decides for one message, for operators
debugging a conversation. The answer is `bot.chat.nlu.understand`'s, the same call the chat makes.

Body: `{"text": "…", "now": "2026-05-18T10:00:00+08:00" (optional), "in_flow": false (optional)}`.
"""

from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from bot.chat import nlu
from bot.web.auth import staff_token_required

blueprint = Blueprint("api_nlu", __name__, url_prefix="/api/v1")


@blueprint.post("/nlu/parse")
@staff_token_required
def parse():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return _error(400, "malformed", '请求体应为 JSON 对象，如 {"text": "下周三上午在芙蓉区登记"}')
    tz = current_app.config["TONGZHOU"].tz
    now = datetime.now(tz)
    if body.get("now"):
        try:
            now = datetime.fromisoformat(body["now"])
        except (TypeError, ValueError):
            return _error(422, "invalid", "now 应为 ISO 8601 时间，如 2026-05-18T10:00:00+08:00", field="now")
        now = now if now.tzinfo else now.replace(tzinfo=tz)
    in_flow = body.get("in_flow", False)
    if not isinstance(in_flow, bool):
        return _error(422, "invalid", "in_flow 应为 true 或 false", field="in_flow")
    return jsonify(nlu.understand(body["text"], now, in_flow=in_flow).to_json())


def _error(status: int, error: str, message: str, field: str | None = None):
    body = {"error": error, "message": message}
    if field:
        body["fields"] = {field: message}
    return jsonify(body), status
