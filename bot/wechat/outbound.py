"""Messages to people who are not chatting right now: reminders, waitlist and closure notices.

WeChat lets an account write first in two ways. A customer-service message is free text, allowed
only within 48 hours of the user's last message and at most 5 times per message the user sent.
A template message may go at any time, but only as an approved template filled field by field;
the template ids and which value goes in which field are configuration (WECHAT_TEMPLATES).

Every message carries an idempotency key (booking code + kind). The key is claimed before the
call, so of several processes sending the same message only one does, and a key that was sent
is never sent again. A send WeChat refused frees its key (nothing reached the user); a send whose
fate is unknown (timeout, HTTP error) keeps it, because a duplicate notice is worse than a retry
nobody can check.
"""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

import requests
from prometheus_client import Counter
from wechatpy.exceptions import WeChatClientException

from bot import store
from bot.config import ConfigError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 48 * 3600
CUSTOM_QUOTA = 5
WINDOW_CLOSED = (45015, 45047)  # reply time limit passed / customer-service quota used up
CLAIM_LEASE_SECONDS = 120  # frees the key if the process dies between claiming it and recording the result
SENT_KEEP_SECONDS = 90 * 24 * 3600  # far longer than any booking is ahead
_LOG = "outbound:log"  # every attempt and its result, newest first
LOG_LENGTH = 10_000

SENT = "sent"
DUPLICATE = "duplicate"  # the key was already sent (or is being sent): nothing done
FAILED = "failed"  # WeChat refused it or it could not be attempted: nothing reached the user
UNCERTAIN = "uncertain"  # the call broke off: it may have arrived, so it is never repeated

CUSTOM = "custom"
TEMPLATE = "template"

# Takes the key unless it was sent, or is being sent by someone whose claim has not yet run out.
_CLAIM_KEY = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, record = pcall(cjson.decode, current)
  if not ok or record.status ~= 'sending' or tonumber(record['until']) > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# Counts one customer-service send against the user's window, if the window is open and not used up.
_RESERVE_CUSTOM = """
local last = redis.call('HGET', KEYS[1], 'last_at')
if not last or tonumber(ARGV[1]) - tonumber(last) >= tonumber(ARGV[2]) then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'custom_sent') or '0') >= tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'custom_sent', 1)
return 1
"""


SENDS = Counter("tongzhou_outbound_sends", "Outbound messages, by channel and result", ["channel", "result"])


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: dict  # WeChat field name -> name of the value to put there ("text" is the message text)
    url: str = ""


@dataclass(frozen=True)
class Outcome:
    status: str
    channel: str = ""
    errcode: int | None = None
    reason: str = ""


_client = None
_templates: dict[str, Template] = {}


def init(client, templates: dict[str, Template]) -> None:
    """Set the WeChat client (bot.wechat.api.make_client) and templates this process sends with."""
    global _client, _templates
    _client = client
    _templates = dict(templates)


def parse_templates(raw: str) -> dict[str, Template]:
    """WECHAT_TEMPLATES: {"kind": {"template_id": "...", "fields": {"first": "text", ...}, "url": ""}}."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
        return {
            kind: Template(spec["template_id"], dict(spec.get("fields") or {}), spec.get("url", ""))
            for kind, spec in parsed.items()
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ConfigError(
            'WECHAT_TEMPLATES must be JSON like {"reminder_24h": {"template_id": "...", "fields": {"first": "text"}}}'
        ) from None


def window_opened(openid: str, now: datetime) -> tuple[str, dict, int]:
    """The user just wrote: a new 48-hour window opens with a fresh quota of customer-service messages.

    The write that does it, as (hash key, fields, seconds to keep it): the webhook makes it inside
    the round trip that ends the user's turn.
    """
    return _window_key(openid), {"last_at": now.timestamp(), "custom_sent": 0}, WINDOW_SECONDS + 24 * 3600


def note_user_message(openid: str, now: datetime) -> None:
    key, fields, seconds = window_opened(openid, now)
    pipe = store.client().pipeline()
    pipe.hset(key, mapping=fields)
    pipe.expire(key, seconds)
    pipe.execute()


def send(openid: str, kind: str, key: str, text: str, template_data: dict | None = None, *, now: datetime) -> Outcome:
    """Send `text` to `openid` once per `key`, by customer-service message if allowed, else by template."""
    if not _claim(key, now):
        log.info("outbound %s %s skipped: already sent", kind, key)
        return Outcome(DUPLICATE)
    try:
        outcome = _deliver(openid, kind, text, {"text": text, **(template_data or {})}, now)
    except (requests.RequestException, WeChatClientException) as exc:
        outcome = Outcome(UNCERTAIN, reason=f"{type(exc).__name__}: {exc}")
    except Exception:
        store.client().delete(_sent_key(key))
        raise
    _record(openid, kind, key, outcome, now)
    SENDS.labels(outcome.channel or "-", outcome.status).inc()
    return outcome


def _deliver(openid: str, kind: str, text: str, values: dict, now: datetime) -> Outcome:
    if _reserve_custom(openid, now):
        try:
            _client.message.send_text(openid, text)
            return Outcome(SENT, CUSTOM)
        except WeChatClientException as exc:
            if exc.errcode is None:
                raise
            if exc.errcode not in WINDOW_CLOSED:
                return Outcome(FAILED, CUSTOM, exc.errcode, exc.errmsg)
            log.info("outbound %s: customer-service window closed (errcode=%s); using a template", kind, exc.errcode)
            _close_window(openid)
    template = _templates.get(kind)
    if template is None:
        return Outcome(FAILED, TEMPLATE, reason=f"no template configured for {kind!r}")
    missing = sorted(source for source in template.fields.values() if source not in values)
    if missing:
        return Outcome(FAILED, TEMPLATE, reason=f"template for {kind!r} needs {', '.join(missing)}")
    data = {name: {"value": str(values[source])} for name, source in template.fields.items()}
    try:
        _client.message.send_template(openid, template.template_id, data, url=template.url or None)
    except WeChatClientException as exc:
        if exc.errcode is None:
            raise
        return Outcome(FAILED, TEMPLATE, exc.errcode, exc.errmsg)
    return Outcome(SENT, TEMPLATE)


def _claim(key: str, now: datetime) -> bool:
    claim = json.dumps({"status": "sending", "until": now.timestamp() + CLAIM_LEASE_SECONDS})
    return bool(store.run_script(_CLAIM_KEY, (_sent_key(key),), (now.timestamp(), claim, SENT_KEEP_SECONDS)))


def _reserve_custom(openid: str, now: datetime) -> bool:
    return bool(
        store.run_script(_RESERVE_CUSTOM, (_window_key(openid),), (now.timestamp(), WINDOW_SECONDS, CUSTOM_QUOTA))
    )


def _close_window(openid: str) -> None:
    """WeChat says no more customer-service messages until the user writes again."""
    store.client().hset(_window_key(openid), "custom_sent", CUSTOM_QUOTA)


def _record(openid: str, kind: str, key: str, outcome: Outcome, now: datetime) -> None:
    entry = {"at": now.isoformat(), "openid": openid, "kind": kind, "key": key, **asdict(outcome)}
    line = json.dumps(entry, ensure_ascii=False)
    pipe = store.client().pipeline()
    if outcome.status == FAILED:
        pipe.delete(_sent_key(key))  # nothing reached the user, so a later attempt may send it
        log.error("outbound %s %s failed: errcode=%s %s", kind, key, outcome.errcode, outcome.reason)
    else:
        pipe.set(_sent_key(key), line, ex=SENT_KEEP_SECONDS)
        log.log(
            logging.INFO if outcome.status == SENT else logging.WARNING,
            "outbound %s %s %s via %s %s",
            kind,
            key,
            outcome.status,
            outcome.channel or "-",
            outcome.reason,
        )
    pipe.lpush(_LOG, line)
    pipe.ltrim(_LOG, 0, LOG_LENGTH - 1)
    pipe.execute()


def _window_key(openid: str) -> str:
    return f"outbound:window:{openid}"


def _sent_key(key: str) -> str:
    return f"outbound:sent:{key}"
