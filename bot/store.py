"""The one owner of the Redis connection. Nothing else constructs clients.

`REDIS_URL` set: a pooled client with sub-second timeouts, so a dead Redis costs a citizen about a
second, not a hung worker. Unset: an embedded in-process fakeredis (with Lua) so `make run`
works with no Redis installed; it keeps nothing and says so in the log.
"""

import logging

import redis

log = logging.getLogger(__name__)

_client = None

# Errors that mean "the store is unavailable right now", as opposed to a bug in our own code.
UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,  # full under maxmemory-policy noeviction: refuses writes
    redis.exceptions.ReadOnlyError,  # a replica after a failover
)


def connect(url: str):
    """Make the process-wide client for `url` ('' → embedded store) and return it."""
    global _client
    if url:
        _client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=0.8,  # one stalled call still leaves time to answer "系统繁忙" within 1 s
            socket_connect_timeout=0.5,
            health_check_interval=15,
            retry_on_timeout=False,
        )
    else:
        import fakeredis

        log.warning("REDIS_URL is not set: using the embedded in-process store; nothing is persisted")
        _client = fakeredis.FakeRedis(decode_responses=True)
    return _client


def client():
    """The process-wide client. Storage modules call this; handlers never do."""
    if _client is None:
        raise RuntimeError("store.connect() has not been called (create_app does it)")
    return _client


def reachable() -> bool:
    """True when Redis answers and accepts writes (a full or read-only Redis can't serve a chat)."""
    try:
        return bool(client().set("healthz:probe", "1", ex=10))
    except redis.exceptions.RedisError:
        return False


# Source text → its Script. redis-py's Script runs EVALSHA and loads the text again when Redis has
# forgotten it (a restart, a failover), so every Lua script in the service runs this one way.
_scripts: dict[str, redis.commands.core.Script] = {}


def script(source: str):
    """`source` as a registered script: EVALSHA on every call, never the whole text."""
    found = _scripts.get(source)
    if found is None:
        found = _scripts[source] = client().register_script(source)
    return found


def run_script(source: str, keys=(), args=()):
    """Run `source` on the current client with `keys` and `args` in one round trip."""
    return script(source)(keys=list(keys), args=list(args), client=client())
