"""Due work in Redis, claimed atomically so any number of scheduler processes run each item once.

An item is one (kind, key) pair — scheduling the same pair again replaces it, which is how a
moved booking moves its reminder. Items wait in `jobs:due` (a sorted set by due time). Claiming
moves them, in one Lua script, to `jobs:leased` scored by when the lease runs out; a worker that
finishes calls complete(). If the worker dies instead, the next claim after the lease has run out
puts the item back, so a crash mid-tick delays work by one lease but never loses it.

A worker that outlives its lease may see its item run a second time elsewhere; leases are far
longer than a job takes, and outbound messages carry their own idempotency keys for that case.
"""

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import store

DUE = "jobs:due"
LEASED = "jobs:leased"
ITEMS = "jobs:items"  # id -> {"kind", "key", "due_at", "payload"}
ATTEMPTS = "jobs:attempts"  # id -> how many times it has been claimed
REJECTED = "jobs:rejected"  # pushed entries that were not JSON objects with a "key", kept for a person to look at

_CLAIM = """
local now, lease_until, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local claimed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], lease_until, id)
  local attempts = redis.call('HINCRBY', KEYS[4], id, 1)
  table.insert(claimed, redis.call('HGET', KEYS[3], id))
  table.insert(claimed, attempts)
end
return claimed
"""

# Forgets the item unless it was scheduled again while it ran (then the new schedule stands).
_COMPLETE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
end
"""

# Pops JSON entries other systems pushed onto a list and makes each a due-now item of one kind.
# The entry text is stored as it came (not re-encoded by Lua's cjson, which rounds big numbers).
_ADOPT = """
local adopted = 0
for _ = 1, tonumber(ARGV[3]) do
  local raw = redis.call('LPOP', KEYS[1])
  if not raw then break end
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and (type(entry.key) == 'string' or type(entry.key) == 'number') then
    local key = tostring(entry.key)
    local id = ARGV[1] .. ':' .. key
    redis.call('HSET', KEYS[4], id, '{"kind":' .. cjson.encode(ARGV[1]) .. ',"key":' .. cjson.encode(key) ..
      ',"due_at":' .. ARGV[2] .. ',"payload":' .. raw .. '}')
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[5], id)
    adopted = adopted + 1
  else
    redis.call('RPUSH', KEYS[6], raw)
  end
end
return adopted
"""


# Schedules the pair only if it is neither waiting nor running.
_SCHEDULE_IF_ABSENT = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Item:
    kind: str
    key: str
    due_at: datetime
    payload: dict
    attempts: int = 0  # including the claim that produced this Item

    @property
    def id(self) -> str:
        return _id(self.kind, self.key)


def schedule(kind: str, key: str, due_at: datetime, payload: dict, pipe=None) -> None:
    """Run `kind` for `key` at `due_at`, replacing whatever was scheduled for that pair.

    With `pipe` (a transaction pipeline) the writes join the caller's round trip instead.
    """
    item_id = _id(kind, key)
    with _writes(pipe) as pipe:
        pipe.hset(ITEMS, item_id, _record(kind, key, due_at, payload))
        pipe.zadd(DUE, {item_id: due_at.timestamp()})
        pipe.zrem(LEASED, item_id)
        pipe.hdel(ATTEMPTS, item_id)


def schedule_if_absent(kind: str, key: str, due_at: datetime, payload: dict) -> bool:
    """Like schedule(), but leaves a pair that is already waiting or running alone; True if it scheduled."""
    item_id = _id(kind, key)
    record = _record(kind, key, due_at, payload)
    return bool(
        store.run_script(_SCHEDULE_IF_ABSENT, (DUE, LEASED, ITEMS, ATTEMPTS), (item_id, due_at.timestamp(), record))
    )


def unschedule(kind: str, key: str, pipe=None) -> None:
    """Forget the pair: it will not run (one already running finishes, but is not retried)."""
    item_id = _id(kind, key)
    with _writes(pipe) as pipe:
        pipe.zrem(DUE, item_id)
        pipe.zrem(LEASED, item_id)
        pipe.hdel(ITEMS, item_id)
        pipe.hdel(ATTEMPTS, item_id)


@contextmanager
def _writes(pipe):
    """The caller's pipeline, or a transaction of our own that is executed at the end."""
    if pipe is not None:
        yield pipe
        return
    own = store.client().pipeline(transaction=True)
    yield own
    own.execute()


def claim_due(now: datetime, lease_seconds: float, limit: int) -> list[Item]:
    """Up to `limit` items due by `now` (and any whose lease ran out), leased to the caller."""
    flat = store.run_script(
        _CLAIM, (DUE, LEASED, ITEMS, ATTEMPTS), (now.timestamp(), now.timestamp() + lease_seconds, limit)
    )
    items = []
    for raw, attempts in zip(flat[::2], flat[1::2], strict=True):
        record = json.loads(raw)
        due_at = datetime.fromtimestamp(record["due_at"], UTC)
        items.append(Item(record["kind"], record["key"], due_at, record["payload"], int(attempts)))
    return items


def complete(item: Item) -> None:
    store.run_script(_COMPLETE, (DUE, LEASED, ITEMS, ATTEMPTS), (item.id,))


def adopt_list(list_key: str, kind: str, now: datetime, limit: int) -> int:
    """Turn up to `limit` JSON objects pushed on `list_key` into items of `kind` keyed by their "key"."""
    return store.run_script(_ADOPT, (list_key, DUE, LEASED, ITEMS, ATTEMPTS, REJECTED), (kind, now.timestamp(), limit))


def scheduled(kind: str, key: str) -> datetime | None:
    """When the pair is due, or None if it is not waiting (never scheduled, running, or done)."""
    score = store.client().zscore(DUE, _id(kind, key))
    return None if score is None else datetime.fromtimestamp(score, UTC)


def oldest_due() -> datetime | None:
    """When the item that has waited longest was due (None: the queue is empty)."""
    first = store.client().zrange(DUE, 0, 0, withscores=True)
    return datetime.fromtimestamp(first[0][1], UTC) if first else None


def _record(kind: str, key: str, due_at: datetime, payload: dict) -> str:
    return json.dumps({"kind": kind, "key": key, "due_at": due_at.timestamp(), "payload": payload}, ensure_ascii=False)


def _id(kind: str, key: str) -> str:
    return f"{kind}:{key}"
