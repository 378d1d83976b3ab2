"""One structured (JSON) log line per request, with the user's openid hashed, never raw."""

import functools
import hashlib
import logging
import time

import orjson

from bot import config

request_log = logging.getLogger("tongzhou.request")


def hash_openid(openid: str) -> str:
    # A per-deployment salt keeps hashed openids stable within a deployment but useless elsewhere.
    return _salted_hash(config.current().log_salt, openid) if openid else ""


@functools.lru_cache(maxsize=4096)  # the users of the last minutes send most messages
def _salted_hash(salt: str, openid: str) -> str:
    return hashlib.sha256(salt.encode() + openid.encode()).hexdigest()[:12]


def log_request(fields: dict) -> None:
    if request_log.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: nothing to build
        # The record made here and handed on: Logger.info would also walk the stack for the file and
        # line that called it, which the line never shows, on every request.
        line = orjson.dumps(fields).decode()
        request_log.handle(request_log.makeRecord(request_log.name, logging.INFO, "", 0, line, None, None))


class _Formatter(logging.Formatter):
    """logging's own layout, with the date and time of a whole second formatted once: every request
    writes a line, and time.localtime and strftime for each cost more than the rest of the line."""

    _second, _text = None, ""

    def formatTime(self, record, datefmt=None):
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, time.strftime(self.default_time_format, self.converter(second))
        return self.default_msec_format % (self._text, record.msecs)


def setup() -> None:
    """Plain message-only lines on stderr, unless the host (gunicorn, pytest) set up logging."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logging.basicConfig(level=config.current().log_level, handlers=[handler])
        # Nothing of ours shows a thread or process name; each record would look them up.
        logging.logThreads = logging.logMultiprocessing = False
