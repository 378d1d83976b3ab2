"""One structured (JSON) log line per request, with the user's openid hashed, never raw."""

import functools
import hashlib
import logging

import orjson

from bot import config

request_log = logging.getLogger("tongzhou.request")


def hash_openid(openid: str) -> str:
    # A per-deployment salt keeps hashed openids stable within a deployment but useless elsewhere.
    return _salted_hash(config.current().log_salt, openid) if openid else ""


@functools.lru_cache(maxsize=4096)  # the users of the last minutes send most messages
def _salted_hash(salt: str, openid: str) -> str:
    return hashlib.sha256(salt.encode() + openid.encode()).hexdigest()[:12]


def log_request(**fields) -> None:
    if request_log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: nothing to build
        # The record made here and handed on: Logger.info would also walk the stack for the file and
        # line that called it, which the line never shows, on every request.
        line = orjson.dumps(fields).decode()
        request_log.handle(request_log.makeRecord(request_log.name, logging.INFO, "", 0, line, None, None))


def setup() -> None:
    """Plain message-only lines on stderr, unless the host (gunicorn, pytest) set up logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=config.current().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
