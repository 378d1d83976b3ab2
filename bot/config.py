"""Configuration from the environment, validated once at start-up.

This is the only module that reads the environment: every setting the service reads is named here,
and README's "Configuration" table lists the same names. A bad value raises ConfigError with one
line that names the variable and what is wrong. `create_app` (and each command-line entry point)
makes the process's Config and hands it to `use()`; modules that run outside a request (the booking
engine's ID hashing, the log salt) read it back with `current()`.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_TOKEN = "tongzhou-dev-token"
DEVELOPMENT = "development"  # TONGZHOU_ENV for `make run` and the tests; anything else is production
MIN_ADMIN_TOKEN_LENGTH = 24
PLAIN, COMPATIBLE, SAFE = "plain", "compatible", "safe"  # WeChat's 明文模式, 兼容模式, 安全模式
WECHAT_MODES = (PLAIN, COMPATIBLE, SAFE)
DEFAULT_TICK_SECONDS = 5.0

_HHMM = r"(?:[01]\d|2[0-3]):[0-5]\d"
_STAFFED_HOURS = re.compile(rf"{_HHMM}\s*-\s*{_HHMM}")

# BookingRules field → the variable that overrides its default (bot/bookings/slots.py parses them).
BOOKING_VARIABLES = {
    "window_first_day": "BOOKING_WINDOW_FIRST_DAY",
    "window_days": "BOOKING_WINDOW_DAYS",
    "min_notice_minutes": "BOOKING_MIN_NOTICE_MINUTES",
    "cancel_cutoff_minutes": "BOOKING_CANCEL_CUTOFF_MINUTES",
    "checkin_opens_minutes": "BOOKING_CHECKIN_OPENS_MINUTES",
    "no_show_grace_minutes": "BOOKING_NO_SHOW_GRACE_MINUTES",
    "no_show_limit": "BOOKING_NO_SHOW_LIMIT",
    "no_show_lookback_days": "BOOKING_NO_SHOW_LOOKBACK_DAYS",
    "suspension_days": "BOOKING_SUSPENSION_DAYS",
    "pii_retention_days": "PII_RETENTION_DAYS",
    "peak_capacity": "BOOKING_PEAK_CAPACITY",
    "epidemic_mode": "EPIDEMIC_MODE",
    "residence_rule": "BOOKING_RESIDENCE_RULE",
}


class ConfigError(ValueError):
    """A setting that would make the service misbehave; start-up stops with this message."""


@dataclass(frozen=True)
class Config:
    environment: str = "production"  # TONGZHOU_ENV
    wechat_token: str = DEV_TOKEN
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_mode: str = ""  # plain | compatible | safe; "" → safe with an AES key, plain without
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    max_clock_skew: int = 300
    redis_url: str = ""
    # High availability: discover the primary through Redis Sentinel instead of one REDIS_URL.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = ""
    redis_password: str = ""  # the data nodes' password (Sentinel mode; a REDIS_URL carries its own)
    redis_sentinel_password: str = ""
    redis_db: int = 0  # the database number in Sentinel mode
    # A booking is confirmed only once this many replicas hold it (WAIT); 0 skips the wait.
    redis_wait_replicas: int = 0
    redis_wait_ms: int = 500
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2  # gunicorn worker processes (gunicorn.conf.py)
    admin_token: str = ""
    tz_name: str = "Asia/Shanghai"
    simulator_enabled: bool = False
    # prometheus_client's multiprocess mode (gunicorn): where each process writes its metrics.
    prometheus_multiproc_dir: str = ""
    proxy_hops: int = 0  # reverse proxies in front of the app that set X-Forwarded-For
    pii_key: str = ""  # keyed hash of ID numbers; "" → the development key (with a warning)
    secret_key: str = ""  # signs staff console logins; "" → random per process (with a warning)
    log_salt: str = "tongzhou"  # salt of the hashed openids in logs
    log_level: str = "INFO"
    wechat_templates: str = ""  # JSON, parsed by bot/wechat/outbound.py
    charity_public_key_file: str = ""  # "" → no department key: the donation list is unverified
    scheduler_in_process: bool = False  # development: run the scheduler as a thread of the dev server
    scheduler_tick_seconds: float = DEFAULT_TICK_SECONDS
    booking: dict = field(default_factory=dict)  # BookingRules field → raw value, from BOOKING_VARIABLES
    staffed_hours: str = ""  # "09:00-17:00": 转人工 reaches the account's customer-service staff then, on working days
    web_bookings_per_client_day: int = 3  # web bookings one client address may make per day
    web_office_day_share_percent: int = 50  # most of an office-day's places the web channel may hold

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def redis_configured(self) -> bool:
        """A real Redis (a URL or Sentinels), as opposed to the embedded in-process store."""
        return bool(self.redis_url or self.redis_sentinels)

    @property
    def staffed_window(self) -> tuple[str, str] | None:
        """STAFFED_HOURS as ("09:00", "17:00"); None when the account has no customer-service staff."""
        if not self.staffed_hours:
            return None
        start, _, end = self.staffed_hours.partition("-")
        return start.strip(), end.strip()

    @property
    def mode(self) -> str:
        """The message mode in force: in compatible and safe mode every POST must be encrypted and signed."""
        return self.wechat_mode or (SAFE if self.wechat_aes_key else PLAIN)

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            environment=env.get("TONGZHOU_ENV", "").strip().lower() or cls.environment,
            wechat_token=env.get("WECHAT_TOKEN") or DEV_TOKEN,
            wechat_appid=env.get("WECHAT_APPID", ""),
            wechat_secret=env.get("WECHAT_SECRET", ""),
            wechat_aes_key=env.get("WECHAT_AES_KEY", ""),
            wechat_mode=env.get("WECHAT_MODE", "").strip().lower(),
            wechat_api_base=env.get("WECHAT_API_BASE") or cls.wechat_api_base,
            max_clock_skew=_int(env, "WECHAT_MAX_CLOCK_SKEW", 300),
            redis_url=env.get("REDIS_URL", ""),
            redis_sentinels=_addresses(env, "REDIS_SENTINELS"),
            redis_sentinel_master=env.get("REDIS_SENTINEL_MASTER", ""),
            redis_password=env.get("REDIS_PASSWORD", ""),
            redis_sentinel_password=env.get("REDIS_SENTINEL_PASSWORD", ""),
            redis_db=_int(env, "REDIS_DB", 0),
            # With Sentinel there is a replica to wait for; a single server has none.
            redis_wait_replicas=_int(env, "REDIS_WAIT_REPLICAS", 1 if env.get("REDIS_SENTINELS") else 0),
            redis_wait_ms=_int(env, "REDIS_WAIT_MS", 500),
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 5000),
            workers=_int(env, "WORKERS", 2),
            admin_token=env.get("ADMIN_TOKEN", ""),
            tz_name=env.get("TZ_NAME") or "Asia/Shanghai",
            simulator_enabled=_flag(env, "SIMULATOR"),
            proxy_hops=_int(env, "PROXY_HOPS", 0),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
            pii_key=env.get("PII_KEY", ""),
            secret_key=env.get("SECRET_KEY", ""),
            log_salt=env.get("LOG_SALT") or cls.log_salt,
            log_level=env.get("LOG_LEVEL") or cls.log_level,
            wechat_templates=env.get("WECHAT_TEMPLATES", ""),
            charity_public_key_file=env.get("CHARITY_PUBLIC_KEY_FILE", ""),
            scheduler_in_process=_flag(env, "SCHEDULER_IN_PROCESS"),
            scheduler_tick_seconds=_positive(env, "SCHEDULER_TICK_SECONDS", DEFAULT_TICK_SECONDS),
            staffed_hours=env.get("STAFFED_HOURS", "").strip(),
            booking={name: env[var] for name, var in BOOKING_VARIABLES.items() if env.get(var, "") != ""},
            web_bookings_per_client_day=_int(env, "WEB_BOOKINGS_PER_CLIENT_DAY", 3),
            web_office_day_share_percent=_int(env, "WEB_OFFICE_DAY_SHARE_PERCENT", 50),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.wechat_mode and self.wechat_mode not in WECHAT_MODES:
            raise ConfigError(f"WECHAT_MODE must be plain, compatible or safe, got {self.wechat_mode!r}")
        if self.mode != PLAIN and not self.wechat_aes_key:
            raise ConfigError(f"WECHAT_MODE={self.mode} needs WECHAT_AES_KEY (the 43-character EncodingAESKey)")
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
        if not 0 <= self.web_office_day_share_percent <= 100:
            raise ConfigError("WEB_OFFICE_DAY_SHARE_PERCENT must be between 0 and 100")
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ConfigError("REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS (the name the Sentinels monitor)")
        if self.redis_sentinels and self.redis_url:
            raise ConfigError("set REDIS_URL or REDIS_SENTINELS, not both")
        if self.redis_wait_replicas < 0 or self.redis_wait_ms <= 0:
            raise ConfigError("REDIS_WAIT_REPLICAS must be 0 or more and REDIS_WAIT_MS a positive number of ms")
        if self.workers < 1:
            raise ConfigError("WORKERS must be at least 1")
        if self.max_clock_skew < 0:
            raise ConfigError("WECHAT_MAX_CLOCK_SKEW must be 0 (off) or a positive number of seconds")
        if self.staffed_hours and not _STAFFED_HOURS.fullmatch(self.staffed_hours):
            raise ConfigError(f"STAFFED_HOURS must look like 09:00-17:00, got {self.staffed_hours!r}")
        try:
            ZoneInfo(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TZ_NAME is not a known time zone: {self.tz_name!r}") from None
        if self.environment != DEVELOPMENT:
            missing = self.unsafe_in_production()
            if missing:
                raise ConfigError("\n".join(missing))

    def unsafe_in_production(self) -> list[str]:
        """One line per secret that a public deployment must not run without (each names its variable)."""
        problems = []
        if self.wechat_token == DEV_TOKEN:
            problems.append("WECHAT_TOKEN is not set (or is the development token): set the Official Account's Token")
        for name, value in (("PII_KEY", self.pii_key), ("SECRET_KEY", self.secret_key)):
            if not value:
                problems.append(f"{name} is not set: set a long random secret (e.g. `openssl rand -hex 32`)")
        if self.log_salt == Config.log_salt:
            problems.append("LOG_SALT is not set: set a random secret, or hashed openids in logs can be reversed")
        if self.admin_token and len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            problems.append(f"ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters: use a long random token")
        if not self.redis_configured:
            problems.append("REDIS_URL is not set (nor REDIS_SENTINELS): the embedded store keeps nothing")
        return [f"{line} (TONGZHOU_ENV is not {DEVELOPMENT})" for line in problems]


_current: Config | None = None


def use(config: Config) -> Config:
    """Make `config` this process's configuration (create_app and the command-line tools call it)."""
    global _current
    _current = config
    return config


def current() -> Config:
    """This process's configuration: the one given to use(), else the environment's."""
    return _current or use(Config.from_env())


def _flag(env, name) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _positive(env, name, default) -> float:
    raw = env.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _int(env, name, default):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _addresses(env, name) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` → ((host, port), …); anything else names the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    addresses = []
    for item in raw.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{name} must be host:port,host:port,…, got {item.strip()!r}")
        addresses.append((host.strip("[]"), int(port)))
    return tuple(addresses)


def _check_aes_key(key):
    if len(key) != 43:
        raise ConfigError(f"WECHAT_AES_KEY must be the 43-character EncodingAESKey, got {len(key)} characters")
    try:
        base64.b64decode(key + "=", validate=True)
    except binascii.Error:
        raise ConfigError("WECHAT_AES_KEY is not valid base64 (letters, digits, + and / only)") from None
