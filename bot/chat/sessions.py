"""Per-user dialogue sessions in Redis: JSON under `session:{openid}`, 30 minutes idle TTL.

The webhook loads and saves sessions inside a locked turn (bot/chat/turns.py); this module owns the
key, the format and the expiry, and serves everything else that reads or drops a session.
"""

import json

from bot import store
from bot.messages import Session

IDLE_SECONDS = 30 * 60


def key(openid: str) -> str:
    return f"session:{openid}"


def dump(session: Session) -> str:
    return json.dumps(session.to_json(), ensure_ascii=False, separators=(",", ":"))


def load(openid: str) -> Session:
    raw = store.client().get(key(openid))
    return Session.from_json(openid, json.loads(raw)) if raw else Session(openid)


def save(session: Session) -> None:
    store.client().set(key(session.openid), dump(session), ex=IDLE_SECONDS)


def drop(openid: str) -> None:
    store.client().delete(key(openid))
