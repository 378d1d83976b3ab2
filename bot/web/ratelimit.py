"""Limits counted in Redis, never enforced by sleeping in a worker.

- `allow`: a fixed window, at most `limit` hits per `window_seconds` for one bucket. A burst of up
  to twice the limit can straddle a boundary; that is fine for keeping a script off a public form,
  and it costs one round trip.
- `attempt` / `forgive`: guesses of a secret (a staff token, a password, a booking's ID number).
  Each attempt is counted BEFORE the secret is checked, in one script over every bucket it concerns
  (the client, the username), so parallel guesses can't slip between a check and its count; a right
  answer gives its count back. A bucket over its limit stays locked until its window, restarted by
  every refused attempt, runs out.
"""

from bot import store

# KEYS: the buckets; ARGV: their limits (same order), the window. Counts every bucket, restarts the
# window of any that is over its limit, and answers the fewest attempts any bucket has left.
_ATTEMPT = """
local left
for i, bucket in ipairs(KEYS) do
  local n = redis.call('INCR', bucket)
  if n == 1 then redis.call('EXPIRE', bucket, ARGV[#KEYS + 1]) end
  local remaining = tonumber(ARGV[i]) - n
  if remaining < 0 then redis.call('EXPIRE', bucket, ARGV[#KEYS + 1]) end
  if not left or remaining < left then left = remaining end
end
return left
"""
_FORGIVE = """
for _, bucket in ipairs(KEYS) do
  if redis.call('EXISTS', bucket) == 1 then redis.call('DECR', bucket) end
end
"""


def allow(bucket: str, limit: int, window_seconds: int, now: float) -> bool:
    """Count one hit for `bucket` (e.g. "web-booking:1.2.3.4") and say whether it is within the limit."""
    key = _window_key(bucket, window_seconds, now)
    pipe = store.client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    hits, _ = pipe.execute()
    return hits <= limit


def undo(bucket: str, window_seconds: int, now: float) -> None:
    """Take back a hit `allow` counted (the thing it guarded did not happen after all)."""
    store.run_script(_FORGIVE, [_window_key(bucket, window_seconds, now)])


def _window_key(bucket: str, window_seconds: int, now: float) -> str:
    return f"ratelimit:{bucket}:{int(now // window_seconds)}"


def attempt(limits: dict[str, int], window_seconds: int) -> int:
    """Count one guess in every bucket of `limits` ({bucket: limit}) and say how many more the strictest
    bucket allows: 0 or more, go ahead and check this one; negative, refuse it unchecked."""
    keys = [f"attempts:{bucket}" for bucket in limits]
    return store.run_script(_ATTEMPT, keys, [*limits.values(), window_seconds])


def forgive(buckets) -> None:
    """A right answer: its attempt no longer counts against the buckets (an expired one stays gone)."""
    store.run_script(_FORGIVE, [f"attempts:{bucket}" for bucket in buckets])
