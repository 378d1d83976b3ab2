"""One message's turn against Redis, in two round trips: `begin` claims the message (retry
dedupe), locks the user's session and loads it; `end` saves the session, keeps the rendered reply
for retries and unlocks. Both are Lua scripts, so each step is atomic and the hot path stays fast.

Retries: WeChat resends a message up to three times when we take over 5 s. The first delivery
claims `dedupe:{sender}:{msgid}`; its reply (before encryption) is kept 5 minutes so every retry
gets the same bytes, and a retry that arrives while the first still runs waits for that reply
instead of running the handler again. Locking: two messages of one user run one after the other.
"""

import os
import time
from dataclasses import dataclass, field

from bot import inbox, store
from bot.chat import sessions
from bot.messages import Session

DEDUPE_TTL_SECONDS = 300
# Handlers take milliseconds; a turn still running after 3 s has failed on Redis's 0.8 s timeouts.
# The lease is short because a lock can outlive its turn: a Redis frozen mid-call runs the BEGIN
# script the client gave up on when it wakes, and that user's next message (waiting up to
# WAIT_SECONDS) must still get through.
LOCK_LEASE_MS = 3_000
WAIT_SECONDS = 4.0  # WeChat gives up after 5 s, so waiting longer helps nobody
# A window opens with a user's first message and lasts a minute. The limit is far above a person
# typing; it stops a script flooding one account's session.
MESSAGES_PER_MINUTE = 30
PENDING = "\x00pending"

_BEGIN = """
if ARGV[4] == '1' and KEYS[6] then  -- the (timestamp, nonce) pair: one body only (protocol.ReplayClaim)
  if not redis.call('SET', KEYS[6], ARGV[8], 'NX', 'EX', ARGV[9]) and redis.call('GET', KEYS[6]) ~= ARGV[8] then
    return {'replayed', ''}
  end
end
if ARGV[4] == '1' then
  local seen = redis.call('GET', KEYS[1])
  if seen then return {'seen', seen} end
  redis.call('SET', KEYS[1], ARGV[5], 'EX', ARGV[3])
  local sent = redis.call('INCR', KEYS[4])
  if sent == 1 then redis.call('EXPIRE', KEYS[4], 60) end
  if sent > tonumber(ARGV[6]) then return {'limited', ''} end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'locked', ''} end
local notices = {}
if ARGV[7] == '1' then
  notices = redis.call('LRANGE', KEYS[5], 0, -1)
  redis.call('DEL', KEYS[5])
end
return {'run', redis.call('GET', KEYS[3]) or '', notices}
"""

_END = """
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5]) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) else redis.call('DEL', KEYS[1]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if KEYS[4] then
  redis.call('HSET', KEYS[4], unpack(ARGV, 7))
  redis.call('EXPIRE', KEYS[4], ARGV[6])
end
return 1
"""


class Busy(Exception):
    """Another message of the same user held the session for longer than we can wait."""


class Replayed(Exception):
    """The request's (timestamp, nonce) pair already carried another message: nothing was claimed."""


class Limited(Exception):
    """The user sent more than MESSAGES_PER_MINUTE; the turn is claimed, so end() it with a reply."""

    def __init__(self, turn):
        super().__init__(turn.keys[2])
        self.turn = turn


@dataclass
class Turn:
    keys: list
    token: str
    session: Session | None = None  # set when this delivery should run the message
    earlier_reply: str | None = None  # set for a retry: the first delivery's reply ('' if none came)
    notices: list[str] = field(default_factory=list)  # the user's inbox, emptied by this turn


def begin(openid: str, message_key: str, take_notices: bool = True, replay=None) -> Turn:
    """Claim the message and lock and load its sender's session (waiting up to WAIT_SECONDS);
    with `take_notices`, also empty the user's inbox into `turn.notices`; with `replay` (a
    protocol.ReplayClaim), first claim the request's (timestamp, nonce) pair, raising Replayed when
    another body already holds it."""
    keys = [
        f"dedupe:{message_key}",
        f"lock:{sessions.key(openid)}",
        sessions.key(openid),
        f"rate:{openid}",
        inbox.key(openid),
    ]
    replay_args = []
    if replay is not None:
        keys.append(replay.key)
        replay_args = [replay.body_digest, replay.seconds]
    turn = Turn(keys, os.urandom(8).hex())
    deadline, claim = time.monotonic() + WAIT_SECONDS, "1"
    while True:
        args = [turn.token, LOCK_LEASE_MS, DEDUPE_TTL_SECONDS, claim, PENDING, MESSAGES_PER_MINUTE, int(take_notices)]
        state, value, *rest = store.run_script(_BEGIN, keys, args + replay_args)
        if state == "run":
            turn.session = sessions.parse(openid, value)
            turn.notices = rest[0]
            return turn
        if state == "seen":
            turn.earlier_reply = value if value != PENDING else _wait_for_reply(keys[0], deadline)
            return turn
        if state == "limited":
            raise Limited(turn)
        if state == "replayed":
            raise Replayed(openid)
        claim = "0"  # the message is ours; only the lock is still held by the user's previous message
        if time.monotonic() >= deadline:
            end(turn, reply_xml="")  # unclaim: nothing ran, so WeChat's retry may run it
            raise Busy(openid)
        time.sleep(0.02)


def end(turn: Turn, reply_xml: str, session: Session | None = None, also: tuple | None = None) -> None:
    """Keep the reply for retries, save the session (unless None) and unlock — atomically.

    `also` = (key, fields, seconds): a hash written and given that expiry in the same script (the
    user's 48-hour window), so a turn stays two round trips.
    """
    payload = sessions.dump(session) if session is not None else ""
    keys, args = turn.keys[:3], [turn.token, reply_xml, DEDUPE_TTL_SECONDS, payload, sessions.IDLE_SECONDS]
    if also is not None:
        key, fields, seconds = also
        keys.append(key)
        args += [seconds, *(item for pair in fields.items() for item in pair)]
    store.run_script(_END, keys, args)


def _wait_for_reply(dedupe_key: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        time.sleep(0.05)
        value = store.client().get(dedupe_key)
        if value != PENDING:
            return value or ""
    return ""
