"""Staff accounts for the console, in Redis: scrypt-hashed passwords, a role, a lockout after
repeated failures (per client address and per username), and server-side login sessions. The
first admin comes from ADMIN_TOKEN (user `admin`, that token as password) when no account exists
yet, or from the command line:

    python -m bot.web.pages.staff add USER [--role admin]
"""

import argparse
import getpass
import re
import secrets
import sys
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

from bot import store
from bot.web import ratelimit

ACCOUNTS = "staff:accounts"  # set of usernames
ACCOUNT_KEY = "staff:account:%s"  # hash: password_hash, role
SESSION_KEY = "staff:session:%s"  # a logged-in session's random id → username; logging out deletes it
SESSION_SECONDS = 8 * 3600
# Failed logins before a lockout of LOCKOUT_SECONDS: from one client address (whatever the names), and
# against one username (from any address) — higher, so one address alone can't lock a colleague out.
MAX_FAILURES = 5
MAX_FAILURES_PER_USERNAME = 20
LOCKOUT_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 8
STAFF = "staff"
ADMIN = "admin"
ROLES = (STAFF, ADMIN)
FIRST_ADMIN = "admin"

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")
# Checked against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


@dataclass(frozen=True)
class Account:
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class Locked(Exception):
    def __init__(self):
        super().__init__(f"登录失败次数过多，已暂停登录，请{LOCKOUT_SECONDS // 60}分钟后再试")


def add(username: str, password: str, role: str = STAFF) -> Account:
    """Create or replace an account. ValueError (in Chinese) for a bad name, short password or unknown role."""
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise ValueError("用户名应为2到32位小写字母、数字或 _.-")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少{MIN_PASSWORD_LENGTH}位")
    if role not in ROLES:
        raise ValueError(f"角色应为 {' 或 '.join(ROLES)}")
    pipe = store.client().pipeline()
    pipe.hset(ACCOUNT_KEY % username, mapping={"password_hash": generate_password_hash(password), "role": role})
    pipe.sadd(ACCOUNTS, username)
    pipe.execute()
    return Account(username, role)


def get(username: str) -> Account | None:
    role = store.client().hget(ACCOUNT_KEY % username.strip().lower(), "role")
    return Account(username.strip().lower(), role) if role else None


def ensure_first_admin(admin_token: str) -> None:
    """With no accounts at all, make `admin` with ADMIN_TOKEN as password, so a fresh install can log in."""
    # A token too short to be a password makes no account (production refuses it at start-up).
    if len(admin_token) >= MIN_PASSWORD_LENGTH and not store.client().scard(ACCOUNTS):
        add(FIRST_ADMIN, admin_token, ADMIN)


def authenticate(username: str, password: str, client: str) -> Account | None:
    """The account if the password is right; None if not; Locked once this client address or this
    username has failed too often.

    The attempt is counted before the password is checked, atomically for both, so parallel guesses
    can't pass between a check and its count; a right password gives it back. Unknown names count
    too, so the lockout does not reveal which names exist.
    """
    username = username.strip().lower()
    buckets = {f"login-client:{client}": MAX_FAILURES, f"login-user:{username}": MAX_FAILURES_PER_USERNAME}
    left = ratelimit.attempt(buckets, LOCKOUT_SECONDS)
    if left < 0:
        raise Locked
    stored = store.client().hget(ACCOUNT_KEY % username, "password_hash")
    if check_password_hash(stored or _DUMMY_HASH, password) and stored:
        ratelimit.forgive(buckets)
        return get(username)
    if left == 0:
        raise Locked  # that was the last try allowed
    return None


def open_session(account: Account) -> str:
    """A new login session's id (random; kept in Redis, so logging out ends it everywhere)."""
    session_id = secrets.token_urlsafe(32)
    store.client().set(SESSION_KEY % session_id, account.username, ex=SESSION_SECONDS)
    return session_id


def session_account(session_id: str) -> Account | None:
    username = store.client().get(SESSION_KEY % session_id) if session_id else None
    return get(username) if username else None


def close_session(session_id: str) -> None:
    if session_id:
        store.client().delete(SESSION_KEY % session_id)


def main(argv=None) -> int:
    from bot.config import Config

    parser = argparse.ArgumentParser(description="Manage the staff console's accounts.")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="create an account or set its password")
    adding.add_argument("username")
    adding.add_argument("--role", choices=ROLES, default=STAFF)
    args = parser.parse_args(argv)
    config = Config.from_env()
    if not store.connect_shared(config, "accounts live in Redis"):
        return 2
    password = getpass.getpass("密码: ")
    if password != getpass.getpass("再输入一次: "):
        print("两次输入的密码不一致", file=sys.stderr)
        return 1
    try:
        account = add(args.username, password, args.role)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"已保存账号 {account.username}（{account.role}）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
