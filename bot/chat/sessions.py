"""Per-user dialogue sessions in Redis: JSON under `session:{openid}`, 30 minutes idle TTL.

The webhook loads and saves sessions inside a locked turn (bot/chat/turns.py); this module owns the
key, the format and the expiry, and serves everything else that reads or drops a session.
"""

import orjson

from bot import store
from bot.messages import Session

IDLE_SECONDS = 30 * 60


def key(openid: str) -> str:
    return f"session:{openid}"


_DEFAULTS = Session("").to_json()
FRESH = "{}"  # what dump writes for a session that holds nothing


def dump(session: Session) -> str:
    """The session's JSON without the fields that hold their defaults (parse fills them in again):
    most sessions hold little, and every byte is copied by Redis on every message."""
    kept = {name: value for name, value in session.to_json().items() if value != _DEFAULTS[name]}
    return orjson.dumps(kept, option=orjson.OPT_NON_STR_KEYS).decode()


def parse(openid: str, raw: str | None) -> Session:
    """The session kept as `raw` (what dump wrote; empty or missing: a fresh session)."""
    return Session.from_json(openid, orjson.loads(raw)) if raw else Session(openid)


def drop(openid: str) -> None:
    store.client().delete(key(openid))
