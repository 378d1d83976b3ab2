"""One structured (JSON) log line per request, with the user's openid hashed, never raw."""

import hashlib
import logging

import orjson

from bot import config

request_log = logging.getLogger("tongzhou.request")


def hash_openid(openid: str) -> str:
    # A per-deployment salt keeps hashed openids stable within a deployment but useless elsewhere.
    salt = config.current().log_salt.encode()
    return hashlib.sha256(salt + openid.encode()).hexdigest()[:12] if openid else ""


def log_request(**fields) -> None:
    if request_log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: nothing to build
        request_log.info(orjson.dumps(fields).decode())


def setup() -> None:
    """Plain message-only lines on stderr, unless the host (gunicorn, pytest) set up logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=config.current().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
