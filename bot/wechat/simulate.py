"""Build the signed requests WeChat's servers would send, for the console, the simulator page,
the tests and the benchmarks — so all of them exercise the real `/wechat` path."""

import itertools
import random
import secrets
import time
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.config import PLAIN
from bot.wechat.protocol import sign

ACCOUNT = "gh_tongzhou"
_msg_ids = itertools.count(int(time.time() * 1000) * 1000 + random.randrange(1000))


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(openid: str, msg_type: str, fields: dict, created: int | None) -> str:
    parts = [
        f"<ToUserName>{_cdata(ACCOUNT)}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{created or int(time.time())}</CreateTime>",
        f"<MsgType>{_cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}>{_cdata(value) if isinstance(value, str) else escape(str(value))}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text(openid: str, content: str, msg_id: int | None = None, created: int | None = None) -> str:
    return _xml(openid, "text", {"Content": content, "MsgId": msg_id or next(_msg_ids)}, created)


def location(openid: str, lat: float, lng: float, label: str = "", created: int | None = None) -> str:
    fields = {"Location_X": lat, "Location_Y": lng, "Scale": 15, "Label": label, "MsgId": next(_msg_ids)}
    return _xml(openid, "location", fields, created)


def event(openid: str, name: str, key: str = "", created: int | None = None) -> str:
    fields = {"Event": name}
    if key:
        fields["EventKey"] = key
    return _xml(openid, "event", fields, created)


def click(openid: str, key: str, created: int | None = None) -> str:
    return event(openid, "CLICK", key, created)


def scan(openid: str, scene: str, created: int | None = None) -> str:
    return event(openid, "SCAN", scene, created)


def signed(config, body: str, timestamp: int | None = None, nonce: str | None = None) -> tuple[str, bytes]:
    """(query string, body bytes) as WeChat sends them; encrypted unless the config's mode is plain."""
    timestamp = str(timestamp or int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**9))  # a pair is accepted once; tests may seed `random`
    query = {"signature": sign(config.wechat_token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if config.mode != PLAIN:
        crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
        body = crypto.encrypt_message(body, nonce, timestamp)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = xmltodict.parse(body)["xml"]["MsgSignature"]
    return urlencode(query), body.encode("utf-8")


def open_reply(config, body: str) -> str:
    """The plaintext reply XML of a response (decrypting it in safe mode)."""
    if not config.wechat_aes_key or not body.startswith("<"):
        return body
    envelope = xmltodict.parse(body)["xml"]
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    return crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])


def readable(reply_xml: str) -> str:
    """A reply as the person in the chat sees it: the text, or a card's title and link."""
    if not reply_xml.startswith("<"):
        return ""  # "success" or empty: WeChat shows nothing
    reply = xmltodict.parse(reply_xml)["xml"]
    if reply["MsgType"] == "text":
        return reply.get("Content") or ""
    if reply["MsgType"] == "news":
        item = reply["Articles"]["item"]
        item = item[0] if isinstance(item, list) else item
        return f"[{item.get('Title', '')}] {item.get('Url', '')}".strip()
    return f"[{reply['MsgType']}]"
