"""Configuration from the environment, validated once at start-up.

Every setting the app reads is here; README's "Configuration" table lists the same names.
A bad value raises ConfigError with one line that names the variable and what is wrong.
"""

import base64
import binascii
import os
from dataclasses import dataclass
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_TOKEN = "tongzhou-dev-token"


class ConfigError(ValueError):
    """A setting that would make the service misbehave; start-up stops with this message."""


@dataclass(frozen=True)
class Config:
    wechat_token: str = DEV_TOKEN
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    max_clock_skew: int = 300
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    admin_token: str = ""
    tz_name: str = "Asia/Shanghai"
    simulator_enabled: bool = False
    proxy_hops: int = 0  # reverse proxies in front of the app that set X-Forwarded-For

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def safe_mode_ready(self) -> bool:
        return bool(self.wechat_aes_key)

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            wechat_token=env.get("WECHAT_TOKEN") or DEV_TOKEN,
            wechat_appid=env.get("WECHAT_APPID", ""),
            wechat_secret=env.get("WECHAT_SECRET", ""),
            wechat_aes_key=env.get("WECHAT_AES_KEY", ""),
            wechat_api_base=env.get("WECHAT_API_BASE") or cls.wechat_api_base,
            max_clock_skew=_int(env, "WECHAT_MAX_CLOCK_SKEW", 300),
            redis_url=env.get("REDIS_URL", ""),
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 5000),
            admin_token=env.get("ADMIN_TOKEN", ""),
            tz_name=env.get("TZ_NAME") or "Asia/Shanghai",
            simulator_enabled=env.get("SIMULATOR", "") in ("1", "true", "yes", "on"),
            proxy_hops=_int(env, "PROXY_HOPS", 0),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.wechat_aes_key:
            _check_aes_key(self.wechat_aes_key)
            if not self.wechat_appid:
                raise ConfigError("WECHAT_APPID is required when WECHAT_AES_KEY is set (safe mode checks it)")
        if self.redis_url:
            parsed = urlparse(self.redis_url)
            if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
                raise ConfigError(f"REDIS_URL is malformed: expected redis://host:port/db, got {self.redis_url!r}")
            try:
                parsed.port  # noqa: B018 - raises ValueError for a non-numeric port
            except ValueError:
                raise ConfigError(f"REDIS_URL has a bad port: {self.redis_url!r}") from None
        if self.max_clock_skew < 0:
            raise ConfigError("WECHAT_MAX_CLOCK_SKEW must be 0 (off) or a positive number of seconds")
        try:
            ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TZ_NAME is not a known time zone: {self.tz_name!r}") from None


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _check_aes_key(key):
    if len(key) != 43:
        raise ConfigError(f"WECHAT_AES_KEY must be the 43-character EncodingAESKey, got {len(key)} characters")
    try:
        base64.b64decode(key + "=", validate=True)
    except binascii.Error:
        raise ConfigError("WECHAT_AES_KEY is not valid base64 (letters, digits, + and / only)") from None
