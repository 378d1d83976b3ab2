"""One structured (JSON) log line per request, with the user's openid hashed, never raw."""

import hashlib
import json
import logging
import os

request_log = logging.getLogger("tongzhou.request")

# A per-deployment salt keeps hashed openids stable within a deployment but useless elsewhere.
_SALT = os.environ.get("LOG_SALT", "tongzhou").encode()


def hash_openid(openid: str) -> str:
    return hashlib.sha256(_SALT + openid.encode()).hexdigest()[:12] if openid else ""


def log_request(**fields) -> None:
    request_log.info(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))


def setup() -> None:
    """Plain message-only lines on stderr, unless the host (gunicorn, pytest) set up logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
