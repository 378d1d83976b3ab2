"""The WeChat API client every process shares one access token through.

WeChat issues one live access token per app: fetching a new one retires the old one within
minutes, so if each app and scheduler process fetched its own they would keep invalidating each
other. The token therefore lives in Redis, and only one process at a time may refresh it: it takes
a short lock (SET NX PX), looks again (someone may have refreshed while it waited), and fetches
only if the token is still missing, rejected or within REFRESH_MARGIN_SECONDS of expiring.

wechatpy's own retry on 40001/42001 fetches a new token and retries with no limit, which loops
when the fresh token is rejected too; it is off, and a rejected token is refreshed once and the
call retried once here.
"""

import logging
import time
import uuid

from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot import store
from bot.config import Config

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 300
LOCK_MILLISECONDS = 10_000  # longer than a token fetch can take (HTTP_TIMEOUT_SECONDS)
WAIT_POLL_SECONDS = 0.05
HTTP_TIMEOUT_SECONDS = 5
TOKEN_REJECTED = (40001, 42001)  # invalid credential / token expired

# Deletes the lock only if it is still ours, so a slow holder never frees a successor's lock.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class TokenUnavailable(WeChatClientException):
    """No access token could be had: another process holds the refresh lock and never delivered."""


def make_client(config: Config) -> "SharedTokenClient":
    return SharedTokenClient(config.wechat_appid, config.wechat_secret, api_base=config.wechat_api_base)


class SharedTokenClient(WeChatClient):
    def __init__(self, appid: str, secret: str, api_base: str):
        super().__init__(appid, secret, timeout=HTTP_TIMEOUT_SECONDS, auto_retry=False)
        self.API_BASE_URL = api_base if api_base.endswith("/") else api_base + "/"

    @property
    def access_token(self) -> str:
        return self._usable_token(rejected=None)

    def fetch_access_token(self) -> dict:
        """Ask WeChat for a new token and store it for every process. Call only under the lock."""
        response = self._http.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        response.raise_for_status()
        try:
            result = self._handle_result(response)
        except WeChatClientException as exc:
            log.error("wechat token fetch failed: errcode=%s errmsg=%s", exc.errcode, exc.errmsg)
            raise
        expires_in = int(result.get("expires_in", 7200))
        store.client().set(self._token_key, result["access_token"], px=expires_in * 1000)
        log.info("wechat access token refreshed, valid for %s s", expires_in)
        return result

    def _request(self, method, url_or_endpoint, **kwargs):
        params = dict(kwargs.pop("params", None) or {})
        token = self.access_token
        try:
            return super()._request(method, url_or_endpoint, params={**params, "access_token": token}, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_REJECTED:
                _log_failure(method, url_or_endpoint, exc)
                raise
            log.warning("wechat rejected the access token (errcode=%s); refreshing once", exc.errcode)
        token = self._usable_token(rejected=token)
        try:
            return super()._request(method, url_or_endpoint, params={**params, "access_token": token}, **kwargs)
        except WeChatClientException as exc:
            _log_failure(method, url_or_endpoint, exc)
            raise

    @property
    def _token_key(self) -> str:
        return f"wechat:access_token:{self.appid}"

    def _stored(self) -> tuple[str | None, float]:
        """The shared token and the seconds it has left (0 when there is none)."""
        pipe = store.client().pipeline()
        pipe.get(self._token_key)
        pipe.pttl(self._token_key)
        token, pttl = pipe.execute()
        return token, max(pttl, 0) / 1000

    def _usable_token(self, rejected: str | None) -> str:
        """A token other than `rejected`, refreshing it if needed with one process doing the fetch."""
        lock_key = self._token_key + ":refreshing"
        deadline = time.monotonic() + LOCK_MILLISECONDS / 1000 + 1
        while True:
            token, left = self._stored()
            usable = bool(token) and token != rejected
            if usable and left >= REFRESH_MARGIN_SECONDS:
                return token
            lock_id = uuid.uuid4().hex
            if store.client().set(lock_key, lock_id, nx=True, px=LOCK_MILLISECONDS):
                try:
                    token, left = self._stored()  # someone may have refreshed between our look and the lock
                    if token and token != rejected and left >= REFRESH_MARGIN_SECONDS:
                        return token
                    return self.fetch_access_token()["access_token"]
                finally:
                    store.run_script(_RELEASE, (lock_key,), (lock_id,))
            if usable:
                return token  # another process is refreshing; this one still works for a few minutes
            if time.monotonic() >= deadline:
                raise TokenUnavailable(None, "access token refresh by another process did not finish", client=self)
            time.sleep(WAIT_POLL_SECONDS)


def _log_failure(method: str, endpoint: str, exc: WeChatClientException) -> None:
    log.error("wechat %s %s failed: errcode=%s errmsg=%s", method.upper(), endpoint, exc.errcode, exc.errmsg)
