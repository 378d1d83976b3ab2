"""Fixed-window rate limits in Redis: at most `limit` hits per `window_seconds` for one bucket.

A fixed window lets a burst of up to twice the limit straddle a boundary; that is fine for
keeping a script off the public booking endpoint, and it costs one round trip.
"""

from bot import store


def allow(bucket: str, limit: int, window_seconds: int, now: float) -> bool:
    """Count one hit for `bucket` (e.g. "web-booking:1.2.3.4") and say whether it is within the limit."""
    window = int(now // window_seconds)
    key = f"ratelimit:{bucket}:{window}"
    pipe = store.client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    hits, _ = pipe.execute()
    return hits <= limit
