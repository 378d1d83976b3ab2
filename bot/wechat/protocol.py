"""WeChat's wire protocol: signatures, the three message modes, and turning XML into `Inbound`.

wechatpy does the cryptography; expat reads the XML's flat fields straight into `Inbound`. Around
them, what a public endpoint needs: constant-time signature checks, the mode in force (in compatible
and safe mode only encrypted, msg_signature-signed messages), a clock-skew window and one use per
(timestamp, nonce) against replays, refusal of any DTD (entity expansion, external entities) by the
parser itself, and a clear 4xx for everything malformed.
"""

import hashlib
import hmac
import pyexpat
import time
from dataclasses import dataclass
from datetime import datetime

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot import messages as m
from bot.config import PLAIN

REPLAY_KEY = "wechat:nonce:%s:%s"
REPLAY_WINDOW_SECONDS = 600  # when the clock-skew check is off
# KEYS: the pair's key; ARGV: the body's digest, the window. The digest the pair was first seen with.


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
    def from_args(cls, args: dict) -> "Envelope":
        get = args.get
        return cls(
            get("signature", ""),
            get("timestamp", ""),
            get("nonce", ""),
            get("encrypt_type", ""),
            get("msg_signature", ""),
        )

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type.lower() == "aes"


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined, as wechatpy's WeChatSigner makes it
    (sorting the strings or their UTF-8 bytes gives one order), without its per-part conversions."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


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


@dataclass(frozen=True)
class ReplayClaim:
    """A (timestamp, nonce) pair is accepted once per window, so a signature copied from a proxy's log
    can't carry another message; the same body again is WeChat retrying, which the retry dedupe
    answers with the stored reply. The turn's first script (bot/chat/turns.py) makes the claim, so
    it costs no round trip of its own."""

    key: str
    body_digest: str
    seconds: int


def replay_claim(config, envelope: Envelope, body: bytes) -> ReplayClaim:
    window = 2 * config.max_clock_skew or REPLAY_WINDOW_SECONDS  # as long as the timestamp is accepted
    key = REPLAY_KEY % (envelope.timestamp[:20], envelope.nonce[:64])
    return ReplayClaim(key, hashlib.sha256(body).hexdigest(), window)


REPLAYED_REASON = "timestamp and nonce already used by another message"


def open_body(config, envelope: Envelope, body: bytes) -> str:
    """The plaintext XML of a POST body, decrypting it in safe and compatible modes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    if config.mode == PLAIN:
        if envelope.encrypted:
            raise Rejected(400, "encrypted message but WECHAT_MODE is plain")
        return text  # parse() reads it, refusing any DTD
    if not envelope.encrypted or not envelope.msg_signature:
        # A plaintext body signed only by the URL signature (which proxies log) is a downgrade.
        raise Rejected(403, f"unencrypted message in {config.mode} mode")
    encrypt = fields(text).get("Encrypt")
    if not encrypt or encrypt is NOT_TEXT:
        raise Rejected(400, "encrypt_type=aes without <Encrypt>")
    _require_signature(sign(config.wechat_token, envelope.timestamp, envelope.nonce, encrypt), envelope.msg_signature)
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    try:
        xml = crypto.decrypt_message({"Encrypt": encrypt}, envelope.msg_signature, envelope.timestamp, envelope.nonce)
    except InvalidAppIdException:
        raise Rejected(403, "message is for another appid") from None
    except InvalidSignatureException:
        raise Rejected(403, "bad msg_signature") from None
    except Exception as exc:  # broken base64, padding or length fields inside the ciphertext
        raise Rejected(400, f"undecryptable: {type(exc).__name__}") from None
    return xml


def seal(config, envelope: Envelope, xml: str, nonce: str) -> str:
    """The response body: a reply encrypted in safe/compatible mode, as is otherwise. The bare
    `success` (WeChat's "no reply") is always sent as is: WeChat documents it unencrypted."""
    if not envelope.encrypted or not xml.startswith("<"):
        return xml
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    return crypto.encrypt_message(xml, nonce, envelope.timestamp or None)


# --- XML → Inbound -------------------------------------------------------------------------

_MEDIA_TYPES = {"image", "video", "shortvideo", "link", "voice", "file"}
_SCAN_EVENTS = {"scan", "subscribe_scan"}
_SCENE_PREFIX = "qrscene_"  # scanning a QR code to follow sends subscribe with EventKey qrscene_<scene>
NOT_TEXT = object()  # a field that held elements, or came twice: nothing we read may use it


class _Refused(Exception):
    """Raised from expat's handlers: a DTD or entity declaration stops the parse where it stands."""


def _refuse(*_args) -> None:
    raise _Refused


def fields(xml: str) -> dict:
    """The top-level fields of a WeChat `<xml>` document: {tag: stripped text}, or NOT_TEXT.

    expat is told to stop at any DTD, entity declaration or external reference (what defusedxml's
    forbid_dtd does), so entity expansion and external entities can't happen, wherever the DTD
    stands. Only the flat fields are kept: building a tree for them would cost more than the rest.
    """
    found, depth, name, text = {}, 0, "", []

    def start(tag, _attrs):
        nonlocal depth, name
        depth += 1
        if depth == 1 and tag != "xml":
            raise Rejected(400, f"root element is <{tag}>, not <xml>")
        if depth == 2:
            name = tag
            text.clear()
        elif depth > 2:
            found[name] = NOT_TEXT

    def end(_tag):
        nonlocal depth
        if depth == 2:
            found[name] = NOT_TEXT if name in found else "".join(text).strip()
        depth -= 1

    def data(chunk):
        if depth == 2:
            text.append(chunk)

    parser = pyexpat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(xml, True)
    except _Refused:
        raise Rejected(400, "refused XML: DTD") from None
    except (pyexpat.ExpatError, UnicodeError):
        raise Rejected(400, "malformed XML") from None
    return found


def parse(xml: str, tz) -> tuple[m.Inbound, str]:
    """The typed message and its retry-dedupe key (None-free: every message has one)."""
    data = fields(xml)
    source = _text(data, "FromUserName")
    if not source:
        raise Rejected(400, "message has no FromUserName")
    try:
        return _to_inbound(data, source, tz)
    except (ValueError, TypeError, OverflowError, OSError) as exc:  # a non-number where one is due
        raise Rejected(400, f"not a WeChat message: {type(exc).__name__}") from None


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if value is NOT_TEXT:  # e.g. <Content> holding elements
        raise Rejected(400, f"<{name}> is not text")
    return value


def _to_inbound(data: dict, source: str, tz) -> tuple[m.Inbound, str]:
    kind = _text(data, "MsgType").lower()
    if not kind:
        raise Rejected(400, "message has no MsgType")
    created = _text(data, "CreateTime")
    received_at = datetime.fromtimestamp(int(created), tz) if created else datetime.now(tz)
    common = {"openid": source, "account": _text(data, "ToUserName"), "received_at": received_at, "wechat_type": kind}
    if kind == "event":
        return _event(data, common, created)
    # Messages are keyed on sender + MsgId; one without a MsgId is keyed like an event.
    msg_id = int(_text(data, "MsgId") or 0)
    key = f"{source}:{msg_id}" if msg_id else f"{source}:{created}::"
    if kind == "text":
        return m.Inbound(kind=m.TEXT, text=_text(data, "Content"), **common), key
    if kind == "voice" and _text(data, "Recognition"):
        return m.Inbound(kind=m.TEXT, text=_text(data, "Recognition"), **common), key
    if kind == "location":
        latitude, longitude = float(_text(data, "Location_X")), float(_text(data, "Location_Y"))
        return m.Inbound(kind=m.LOCATION, latitude=latitude, longitude=longitude, **common), key
    if kind in _MEDIA_TYPES:
        return m.Inbound(kind=m.MEDIA, **common), key
    return m.Inbound(kind=m.SILENT, **common), key


def _event(data: dict, common: dict, created: str) -> tuple[m.Inbound, str]:
    """Events carry no MsgId: they are keyed on sender + time + event + key."""
    event, key = _text(data, "Event").lower(), _text(data, "EventKey")
    if event == "subscribe" and key.startswith(_SCENE_PREFIX):
        # Scanning to follow: welcome and act on the scene together.
        event, key = "subscribe_scan", key[len(_SCENE_PREFIX) :]
    common["wechat_type"] = f"event:{event}"
    dedupe = f"{common['openid']}:{created}:{event}:{key}"
    if event == "subscribe":
        return m.Inbound(kind=m.SUBSCRIBE, **common), dedupe
    if event in _SCAN_EVENTS:
        text = "subscribe" if event == "subscribe_scan" else ""
        return m.Inbound(kind=m.SCAN, key=key, text=text, **common), dedupe
    if event == "unsubscribe":
        return m.Inbound(kind=m.UNSUBSCRIBE, **common), dedupe
    if event == "click":
        return m.Inbound(kind=m.CLICK, key=key, **common), dedupe
    return m.Inbound(kind=m.SILENT, key=key, **common), dedupe
