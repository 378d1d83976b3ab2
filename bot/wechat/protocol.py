"""WeChat's wire protocol: signatures, the three message modes, and turning XML into `Inbound`.

wechatpy does the cryptography and the parsing; this module adds what a public endpoint needs
around them: constant-time signature checks, a clock-skew window against replays, refusal of
DTDs (entity expansion, external entities) before any XML parser sees them, and a clear
4xx for everything malformed.
"""

import hmac
import re
import time
from dataclasses import dataclass

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot import messages as m


class Rejected(Exception):
    """A request we refuse; `status` is the HTTP status, `reason` goes to the log only."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """The query string WeChat puts on every callback."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""

    @classmethod
    def from_args(cls, args) -> "Envelope":
        return cls(
            *(args.get(name, "") for name in ("signature", "timestamp", "nonce", "encrypt_type", "msg_signature"))
        )

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type.lower() == "aes"


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _require_signature(expected: str, given: str) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Rejected(403, "bad signature")


def check_envelope(config, envelope: Envelope, now: float | None = None) -> None:
    """The URL signature and the timestamp window; both apply to GET and POST."""
    _require_signature(sign(config.wechat_token, envelope.timestamp, envelope.nonce), envelope.signature)
    if config.max_clock_skew:
        try:
            skew = abs((time.time() if now is None else now) - int(envelope.timestamp))
        except ValueError:
            raise Rejected(403, "timestamp is not a number") from None
        if skew > config.max_clock_skew:
            raise Rejected(403, f"timestamp {skew:.0f}s away from now")


_ROOT_START = re.compile(r"<[A-Za-z_]")


def _refuse_dtd(xml: str) -> None:
    # WeChat never sends a DTD; refusing any keeps entity expansion and external entities out
    # before a parser could act on them, and lets each body be parsed only once. A DTD can only
    # stand before the root element, so a citizen's text that mentions one is left alone.
    root = _ROOT_START.search(xml)
    prolog = xml[: root.start()] if root else xml
    if "<!DOCTYPE" in prolog or "<!ENTITY" in prolog:
        raise Rejected(400, "refused XML: DTD")


def open_body(config, envelope: Envelope, body: bytes) -> str:
    """The plaintext XML of a POST body, decrypting it in safe and compatible modes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    _refuse_dtd(text)
    if not envelope.encrypted:
        return text
    if not config.safe_mode_ready:
        raise Rejected(400, "encrypted message but WECHAT_AES_KEY is not configured")
    try:
        outer = xmltodict.parse(text)["xml"]
        encrypt = outer.get("Encrypt")
    except Exception:  # expat's errors, or a root that isn't <xml> with fields
        raise Rejected(400, "malformed XML") from None
    if not encrypt or not isinstance(encrypt, str):
        raise Rejected(400, "encrypt_type=aes without <Encrypt>")
    _require_signature(sign(config.wechat_token, envelope.timestamp, envelope.nonce, encrypt), envelope.msg_signature)
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    try:
        xml = crypto.decrypt_message(outer, envelope.msg_signature, envelope.timestamp, envelope.nonce)
    except InvalidAppIdException:
        raise Rejected(403, "message is for another appid") from None
    except InvalidSignatureException:
        raise Rejected(403, "bad msg_signature") from None
    except Exception as exc:  # broken base64, padding or length fields inside the ciphertext
        raise Rejected(400, f"undecryptable: {type(exc).__name__}") from None
    _refuse_dtd(xml)
    return xml


def seal(config, envelope: Envelope, xml: str, nonce: str) -> str:
    """The response body: encrypted in safe/compatible mode, as is otherwise."""
    if not envelope.encrypted or not xml:
        return xml
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    return crypto.encrypt_message(xml, nonce, envelope.timestamp or None)


# --- XML → Inbound -------------------------------------------------------------------------

_MEDIA_TYPES = {"image", "video", "shortvideo", "link", "voice", "file"}
_SCAN_EVENTS = {"scan", "subscribe_scan"}
_SILENT_EVENTS = {
    "location",
    "view",
    "templatesendjobfinish",
    "kf_create_session",
    "kf_close_session",
    "kf_switch_session",
    "scancode_push",
    "scancode_waitmsg",
    "masssendjobfinish",
}


def parse(xml: str, tz) -> tuple[m.Inbound, str]:
    """The typed message and its retry-dedupe key (None-free: every message has one)."""
    try:
        raw = parse_message(xml)
        if raw is None or not raw.source:
            raise Rejected(400, "message has no FromUserName")
        # wechatpy converts fields lazily, so a non-number where one is due fails only here.
        return _to_inbound(raw, tz), dedupe_key(raw)
    except Rejected:
        raise
    except Exception as exc:  # a missing MsgType, a wrong root element, a non-number where one is due
        raise Rejected(400, f"not a WeChat message: {type(exc).__name__}") from None


def dedupe_key(raw) -> str:
    """Messages are keyed on sender + MsgId; events carry no MsgId, so sender + time + event."""
    if raw.type == "event" or raw.id in (0, None):
        fields = raw._data
        return f"{raw.source}:{fields.get('CreateTime', '')}:{fields.get('Event', '')}:{fields.get('EventKey', '')}"
    return f"{raw.source}:{raw.id}"


def _to_inbound(raw, tz) -> m.Inbound:
    data = raw._data
    for name in ("Content", "Recognition", "Label", "EventKey", "Event"):
        if not isinstance(data.get(name) or "", str):  # e.g. <Content> holding elements
            raise Rejected(400, f"<{name}> is not text")
    received_at = raw.create_time.astimezone(tz) if raw.create_time else None
    common = {"openid": raw.source, "account": raw.target or "", "received_at": received_at, "wechat_type": raw.type}
    kind = raw.type
    if kind == "text":
        return m.Inbound(kind=m.TEXT, text=raw.content or "", **common)
    if kind == "voice" and data.get("Recognition"):
        return m.Inbound(kind=m.TEXT, text=data["Recognition"], **common)
    if kind == "location":
        return m.Inbound(
            kind=m.LOCATION,
            latitude=float(raw.location_x),
            longitude=float(raw.location_y),
            **common,
        )
    if kind in _MEDIA_TYPES:
        return m.Inbound(kind=m.MEDIA, **common)
    if kind == "event":
        return _event(raw.event, data, common)
    return m.Inbound(kind=m.SILENT, **common)


def _event(event: str, data: dict, common: dict) -> m.Inbound:
    common["wechat_type"] = f"event:{event}"
    key = data.get("EventKey") or ""
    if event == "subscribe":
        return m.Inbound(kind=m.SUBSCRIBE, **common)
    if event in _SCAN_EVENTS:
        # Scanning to follow arrives as subscribe_scan: welcome and act on the scene together.
        return m.Inbound(kind=m.SCAN, key=key, text="subscribe" if event == "subscribe_scan" else "", **common)
    if event == "unsubscribe":
        return m.Inbound(kind=m.UNSUBSCRIBE, **common)
    if event == "click":
        return m.Inbound(kind=m.CLICK, key=key, **common)
    return m.Inbound(kind=m.SILENT, key=key, **common)
