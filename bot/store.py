"""The one owner of the Redis connection. Nothing else constructs clients.

`REDIS_URL` set: a pooled client with sub-second timeouts, so a dead Redis costs a citizen about a
second, not a hung worker. `REDIS_SENTINELS` set: the same client, but each new connection asks the
Sentinels where the primary is, so after a failover the next request reaches the new primary
without a restart. Neither: an embedded in-process fakeredis (with Lua) so `make run` works with no
Redis installed; it keeps nothing and says so in the log.

Writes that confirm something to a citizen (bookings) go through `run_replicated`: the script and
a `WAIT` for the replicas travel on one connection, so "预约成功" is said only once a replica holds
the booking and a failover cannot take it back.
"""

import logging
import os
import sys
import threading

import hiredis
import redis
from prometheus_client import Counter
from redis.connection import DefaultParser
from redis.sentinel import Sentinel

log = logging.getLogger(__name__)

_client = None
_wait = (0, 0)  # (replicas, ms) that run_replicated waits for


class NotReplicated(redis.exceptions.ConnectionError):
    """No replica acknowledged a write in time: the caller says "busy" and the user retries."""


class NoReplicas(redis.exceptions.ResponseError):
    """A primary under `min-replicas-to-write` refused a write: too few replicas are connected."""


class _Parser(DefaultParser):
    # redis-py reads NOREPLICAS as a plain ResponseError, which would look like a bug of ours.
    EXCEPTION_CLASSES = {**DefaultParser.EXCEPTION_CLASSES, "NOREPLICAS": NoReplicas}


# Errors that mean "the store is unavailable right now", as opposed to a bug in our own code.
UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,  # full under maxmemory-policy noeviction: refuses writes
    redis.exceptions.ReadOnlyError,  # a replica after a failover
    NoReplicas,  # a primary cut off from its replicas (min-replicas-to-write)
)
# NotReplicated is a ConnectionError, so it is in UNAVAILABLE too.

ERRORS = Counter("tongzhou_store_errors", "Turns, requests and ticks that found Redis unavailable", ["where", "error"])


def note_unavailable(where: str, error: Exception) -> None:
    """Count one failure to reach a usable Redis (`where`: chat, web, scheduler)."""
    ERRORS.labels(where, type(error).__name__).inc()


_TIMEOUTS = {
    "socket_timeout": 0.8,  # one stalled call still leaves time to answer "系统繁忙" within 1 s
    "socket_connect_timeout": 0.5,
}
_CLIENT_OPTIONS = {
    **_TIMEOUTS,
    "decode_responses": True,
    "health_check_interval": 15,
    "retry_on_timeout": False,
    "parser_class": _Parser,
}


def connect_shared(config, why: str) -> bool:
    """For a command-line tool whose data must be shared with the service: connect to the configured
    Redis, or say (on stderr) that none is configured and return False. The embedded store lives
    inside one process, so a separate process would see nothing the service wrote."""
    if not config.redis_configured:
        print(f"configuration error: REDIS_URL (or REDIS_SENTINELS) must be set: {why}", file=sys.stderr)
        return False
    connect_for(config)
    return True


def connect_for(config):
    """Make the process-wide client that `config` describes (Sentinels, a URL, or embedded)."""
    global _wait
    _wait = (config.redis_wait_replicas, config.redis_wait_ms)
    if not config.redis_sentinels:
        return connect(config.redis_url)
    global _client
    sentinel = Sentinel(
        list(config.redis_sentinels),
        sentinel_kwargs={**_TIMEOUTS, "password": config.redis_sentinel_password or None},
        password=config.redis_password or None,
        db=config.redis_db,
        **_CLIENT_OPTIONS,
    )
    _client = sentinel.master_for(config.redis_sentinel_master)
    return _client


def connect(url: str):
    """Make the process-wide client for `url` ('' → embedded store) and return it."""
    global _client
    if url:
        _client = redis.Redis.from_url(url, **_CLIENT_OPTIONS)
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


def run_replicated(source: str, args=()):
    """Run a Lua script (no keys) that changes bookings; once it has, wait until the configured
    number of replicas hold its writes. Raises NotReplicated when they don't in time."""
    replicas, ms = _wait
    if not replicas:
        return run_script(source, (), args)
    registered = script(source)
    for attempt in range(2):
        # One pipeline, so WAIT runs on the connection that wrote (WAIT counts that connection's writes).
        pipe = client().pipeline(transaction=False)
        pipe.evalsha(registered.sha, 0, *args)
        pipe.wait(replicas, ms)
        try:
            result, acknowledged = pipe.execute()
            break
        except redis.exceptions.NoScriptError:  # a new primary after a failover has not seen it yet
            if attempt:
                raise
            client().script_load(source)
    if acknowledged < replicas:
        log.warning("write acknowledged by %s of %s replicas within %s ms", acknowledged, replicas, ms)
        raise NotReplicated(f"{acknowledged} of {replicas} replicas acknowledged")
    return result


def reachable() -> bool:
    """True when Redis answers and accepts writes (a full or read-only Redis can't serve a chat)."""
    try:
        return bool(client().set("healthz:probe", "1", ex=10))
    except redis.exceptions.RedisError:
        return False


# Source text → its Script: the SHA that every call sends (EVALSHA, never the whole text), and
# run_replicated's pipeline loads it again when Redis has forgotten it (a restart, a failover).
_scripts: dict[str, redis.commands.core.Script] = {}


def script(source: str):
    """`source` as a registered script: EVALSHA on every call, never the whole text."""
    found = _scripts.get(source)
    if found is None:
        found = _scripts[source] = client().register_script(source)
    return found


class _Kept(threading.local):
    """This thread's own connection for scripts, taken from the client's pool once and kept: every
    chat turn runs two scripts, and checking a connection out of redis-py's pool and going through
    its command layers cost more CPU than the script itself (README, "Performance")."""

    connection = None
    owner = None  # the client whose pool it came from: connect() makes a new one


_kept = _Kept()
# A forked child (gunicorn's workers, preloaded) must not share its parent's socket: two processes
# reading one stream would take each other's replies.
os.register_at_fork(after_in_child=lambda: setattr(_kept, "connection", None))


def _kept_connection():
    if _kept.connection is None or _kept.owner is not _client:
        _kept.connection, _kept.owner = client().connection_pool.get_connection(), _client
    connection = _kept.connection
    # As the pool does at each checkout: a socket the server closed (a restart, a killed primary)
    # reads as ready or raises, so it is replaced before a command goes out on it, not after.
    try:
        stale = connection.can_read()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        stale = True
    if stale:
        connection.disconnect()
        connection.connect()
    return connection


def run_script(source: str, keys=(), args=()):
    """Run `source` on the current client with `keys` and `args` in one round trip."""
    connection = _kept_connection()
    # Packed by hiredis as redis-py itself packs every command when hiredis is installed (it is a
    # requirement), without redis-py's pass over the arguments.
    command = [hiredis.pack_command(("EVALSHA", script(source).sha, len(keys), *keys, *args))]
    try:
        try:
            connection.send_packed_command(command, check_health=False)
            return connection.read_response()
        except redis.exceptions.NoScriptError:  # Redis restarted, or a new primary after a failover
            connection.send_command("SCRIPT", "LOAD", source, check_health=False)
            connection.read_response()
            connection.send_packed_command(command, check_health=False)
            return connection.read_response()
    except redis.exceptions.ResponseError:
        raise  # Redis answered: the next reply on this connection is the next command's
    except BaseException:
        # A timeout or a broken socket: the reply may still arrive, and must never be read as the
        # next command's. The next call connects afresh (through the Sentinels, when configured).
        _kept.connection = None
        connection.disconnect()
        raise
