"""Shared fixtures. Every test that stores anything talks to a real Redis over a socket.

Which Redis: `REDIS_URL` if set; else 127.0.0.1:6379 (database 15, so a developer's data in
database 0 is left alone) if it answers; else a throwaway `redis-server` started here. If none
can be had the run stops with a clear message — it never falls back to fakeredis.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from bot import store

# The suite is development: production start-up refuses the missing secrets (tests/test_security.py
# checks that with its own environment). Set before anything reads the configuration.
os.environ["TONGZHOU_ENV"] = "development"

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "wechat-fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(*args: str) -> tuple[subprocess.Popen, int, str]:
    """A private redis-server on a free port with its own directory; the caller stops it."""
    if not shutil.which("redis-server"):
        pytest.exit("redis-server is not installed; set REDIS_URL to a Redis the tests may use", returncode=2)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="tongzhou-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url, socket_timeout=0.5).ping()
            return proc, port, workdir
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    pytest.exit(f"redis-server on port {port} did not start", returncode=2)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        if not _answers(url):
            pytest.exit(f"REDIS_URL={url} does not answer", returncode=2)
        yield url
        return
    url = "redis://127.0.0.1:6379/15"
    if _answers(url):
        yield url
        return
    proc, _port, workdir = start_redis_server()
    yield f"redis://127.0.0.1:{_port}/0"
    proc.terminate()
    proc.wait(5)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def r(redis_url):
    """The store, connected to the test Redis and emptied before each test."""
    client = store.connect(redis_url)
    client.flushdb()
    return client


@pytest.fixture
def make_app(r, redis_url):
    """An app on the test Redis; keyword arguments override Config fields."""
    from app import create_app
    from bot.config import Config

    def factory(**overrides):
        overrides.setdefault("admin_token", "staff-secret")
        return create_app(Config(redis_url=redis_url, **overrides))

    return factory


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def chat(app):
    from tests.chat import Chat

    return Chat(app)
