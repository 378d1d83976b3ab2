"""`/simulator`: try the bot in a browser without a WeChat account.

The page's server side builds the XML WeChat would send (signed, and encrypted when an AES key is
configured) and posts it to `/wechat` through the app itself, so every message takes the true path.
Served only when SIMULATOR=1 (`make run` sets it); otherwise it is 404, as if it were not there.
"""

import secrets
from statistics import fmean

import xmltodict
from flask import Blueprint, abort, current_app, jsonify, render_template, request, session

from bot.chat import pipeline
from bot.web.pages import web
from bot.wechat import simulate
from knowledge import menu
from knowledge import offices as office_data

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")

OPENID = "simulator_openid"


@blueprint.before_request
def _only_when_enabled():
    if not current_app.config["TONGZHOU"].simulator_enabled:
        abort(404)


@blueprint.get("")
def page():
    return render_template(
        "simulator.html",
        menu=menu.definition()["button"],
        cities=office_data.current().cities(),
        account=simulate.ACCOUNT,
    )


@blueprint.post("/send")
def send():
    """One action from the page as JSON {"kind": text|click|location|scan, "value": ...} → the bot's reply."""
    body = request.get_json(silent=True) or {}
    kind, value = body.get("kind"), str(body.get("value") or "").strip()
    openid = session.setdefault(OPENID, "o_sim_" + secrets.token_hex(8))
    # The message's CreateTime is the bot's "now": the pages' clock, so tests can fix the day.
    created = int(web.now().timestamp())
    if kind == "text" and value:
        xml = simulate.text(openid, value[: pipeline.MAX_TEXT_CHARS], created=created)
    elif kind == "click" and menu.label(value):
        xml = simulate.click(openid, value, created=created)
    elif kind == "scan" and value:
        xml = simulate.scan(openid, value[:64], created=created)
    elif kind == "location" and office_data.current().in_city(value):
        lat, lng = city_centre(value)
        xml = simulate.location(openid, lat, lng, f"湖南省{value}", created=created)
    else:
        return jsonify(error="看不懂这个操作"), 400
    status, reply_xml = post_to_webhook(xml)
    if status != 200:
        return jsonify(error=f"/wechat 返回 HTTP {status}"), 502
    return jsonify(reply=bubble(reply_xml))


def city_centre(city: str) -> tuple[float, float]:
    """A point in the city: the middle of its registry offices."""
    offices = office_data.current().in_city(city)
    return round(fmean(o.lat for o in offices), 4), round(fmean(o.lng for o in offices), 4)


def post_to_webhook(xml: str) -> tuple[int, str]:
    """Post the message to /wechat as WeChat would, and open the reply (status, plaintext XML)."""
    config = current_app.config["TONGZHOU"]
    query, body = simulate.signed(config, xml)
    with current_app.app_context():  # its own context, so the webhook's request data stays its own
        response = current_app.test_client().post(f"/wechat?{query}", data=body)
    return response.status_code, simulate.open_reply(config, response.get_data(as_text=True))


def bubble(reply_xml: str) -> dict | None:
    """What the chat window shows: a text bubble, a news card, or nothing (WeChat shows nothing for "success")."""
    if not reply_xml.startswith("<"):
        return None
    reply = xmltodict.parse(reply_xml)["xml"]
    if reply["MsgType"] == "news":
        item = reply["Articles"]["item"]
        item = item[0] if isinstance(item, list) else item
        return {
            "type": "news",
            "title": item.get("Title") or "",
            "description": item.get("Description") or "",
            "url": item.get("Url") or "",
            "image": item.get("PicUrl") or "",
        }
    if reply["MsgType"] == "text":
        return {"type": "text", "content": reply.get("Content") or ""}
    return {"type": "text", "content": f"[{reply['MsgType']}]"}
