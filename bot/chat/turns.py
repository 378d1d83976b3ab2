"""One message's turn against Redis, in two round trips: `begin` claims the message (retry
dedupe), locks the user's session and loads it with their booking codes; `end` saves the session,
keeps the rendered reply for retries and unlocks. Both are Lua scripts, so each step is atomic
and the hot path stays fast.

Retries: WeChat resends a message up to three times when we take over 5 s. The first delivery
claims `dedupe:{sender}:{msgid}`; its reply (before encryption) is kept 5 minutes so every retry
gets the same bytes, and a retry that arrives while the first still runs waits for that reply
instead of running the handler again. Locking: two messages of one user run one after the other.
"""

import functools
import os
import time
from dataclasses import dataclass, field

from bot import inbox, store
from bot.bookings import engine
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

# The scripts' fixed values are written into their text, as strings: every argument a call
# carries, and every number redis.call turns into text, costs Redis CPU on every message
# (README, "Performance"). SET … NX GET (Redis 7.0) claims a key and reads what held it in one call.
_FIXED = f"""
local PENDING, DEDUPE_TTL, LEASE_MS = '\\0{PENDING[1:]}', '{DEDUPE_TTL_SECONDS}', '{LOCK_LEASE_MS}'
local PER_MINUTE, IDLE = {MESSAGES_PER_MINUTE}, '{sessions.IDLE_SECONDS}'
"""

_BEGIN = (
    _FIXED
    + """
if ARGV[2] == '1' then
  if KEYS[7] then  -- the (timestamp, nonce) pair: one body only (protocol.ReplayClaim)
    local first = redis.call('SET', KEYS[7], ARGV[4], 'NX', 'EX', ARGV[5], 'GET')
    if first and first ~= ARGV[4] then return {'replayed', ''} end
  end
  local seen = redis.call('SET', KEYS[1], PENDING, 'NX', 'EX', DEDUPE_TTL, 'GET')
  if seen then return {'seen', seen} end
  local sent = redis.call('INCR', KEYS[4])
  if sent == 1 then redis.call('EXPIRE', KEYS[4], '60') end
  if sent > PER_MINUTE then return {'limited', ''} end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', LEASE_MS) then return {'locked', ''} end
local notices, codes = {}, {}
-- Most users have neither notices waiting nor bookings: one call finds that out for both.
if redis.call('EXISTS', KEYS[5], KEYS[6]) > 0 then
  if ARGV[3] == '1' then
    notices = redis.call('LRANGE', KEYS[5], 0, -1)
    if notices[1] then redis.call('DEL', KEYS[5]) end
  end
  codes = redis.call('SMEMBERS', KEYS[6])
end
return {'run', redis.call('GET', KEYS[3]) or '', notices, codes}
"""
)

_END = (
    _FIXED
    + """
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'EX', IDLE) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'EX', DEDUPE_TTL) else redis.call('DEL', KEYS[1]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
"""
)


@functools.cache
def _end_writing(names: tuple, seconds: int) -> str:
    """_END that also writes the hash KEYS[4] (an `also` of end()): the field names and the expiry in
    the script's text, the values from ARGV[4] on, so a call carries only the values."""
    pairs = ", ".join(f"'{name}', ARGV[{4 + n}]" for n, name in enumerate(names))
    return _END + f"redis.call('HSET', KEYS[4], {pairs})\nredis.call('EXPIRE', KEYS[4], '{seconds}')\n"


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
    stored: bool = False  # a session was kept for the user when the turn began


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
        engine.openid_key(openid),
    ]
    replay_args = []
    if replay is not None:
        keys.append(replay.key)
        replay_args = [replay.body_digest, replay.seconds]
    turn = Turn(keys, os.urandom(8).hex())
    deadline, claim = time.monotonic() + WAIT_SECONDS, "1"
    while True:
        state, value, *rest = store.run_script(_BEGIN, keys, [turn.token, claim, int(take_notices), *replay_args])
        if state == "run":
            turn.session = sessions.parse(openid, value)
            turn.stored = bool(value)
            turn.notices = rest[0]
            # The user's booking codes, read here so a booking question costs no round trip of its own.
            turn.session.turn["booking_codes"] = rest[1]
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
    if payload == sessions.FRESH and not turn.stored:
        payload = ""  # a fresh session is what no key means: nothing to write
    keys, args, source = turn.keys[:3], [turn.token, reply_xml, payload], _END
    if also is not None:
        key, fields, seconds = also
        keys.append(key)
        args += fields.values()
        source = _end_writing(tuple(fields), seconds)
    store.run_script(source, keys, args)


def _wait_for_reply(dedupe_key: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        time.sleep(0.05)
        value = store.client().get(dedupe_key)
        if value != PENDING:
            return value or ""
    return ""
