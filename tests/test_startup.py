"""Starting the service: bad configuration stops it with one clear line; the console works."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.bookings import summaries
from bot.config import Config, ConfigError
from tests.conftest import free_port
from tests.test_scheduler import wait_until

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "env,named",
    [
        ({"WECHAT_AES_KEY": "a" * 42, "WECHAT_APPID": "wx1"}, "WECHAT_AES_KEY"),
        ({"WECHAT_AES_KEY": "!" * 43, "WECHAT_APPID": "wx1"}, "WECHAT_AES_KEY"),
        ({"WECHAT_AES_KEY": "a" * 43}, "WECHAT_APPID"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:notaport/0"}, "REDIS_URL"),
        ({"PORT": "eighty"}, "PORT"),
        ({"TZ_NAME": "Mars/Olympus"}, "TZ_NAME"),
        ({"REDIS_SENTINELS": "10.0.0.1"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "127.0.0.1:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://x/0"}, "REDIS_URL"),
        ({"REDIS_WAIT_MS": "0"}, "REDIS_WAIT_MS"),
    ],
)
def test_bad_configuration_is_named_in_one_line(env, named):
    with pytest.raises(ConfigError, match=named):
        Config.from_env(env)


@pytest.mark.slow
def test_server_refuses_to_start_with_a_bad_aes_key():
    env = {**os.environ, "WECHAT_AES_KEY": "a" * 42, "WECHAT_APPID": "wx1"}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "WECHAT_AES_KEY" in lines[0] and "43" in lines[0]


class DevServer:
    """`python app.py` as `make run` starts it (SIMULATOR=1, the embedded store unless REDIS_URL),
    on a free port; `lines` is what it printed before serving."""

    def __init__(self, **env):
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ADMIN_TOKEN", "WECHAT_AES_KEY")}
        self.env.update({"SIMULATOR": "1", "SCHEDULER_IN_PROCESS": "0", "PORT": str(self.port), **env})
        self.process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines = []
        for line in self.process.stdout:  # it prints its first-run lines just before it serves
            self.lines.append(line.strip())
            if line.startswith("Staff console"):
                break
        assert wait_until(lambda: self.get("/healthz/live")[0] == 200, 60), self.lines

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path, headers=None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:
            return 0, ""

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        self.process.stdout.close()


@pytest.fixture
def dev_server():
    servers = []

    def start(**env):
        servers.append(DevServer(**env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_make_run_prints_where_everything_is_and_a_staff_login_that_works(dev_server):
    server = dev_server()
    printed = "\n".join(server.lines)
    login = re.search(r"Staff console: (\S+)/admin\s+user: admin\s+password: (\S+)", printed)
    assert login and login.group(1) == server.url, printed
    assert f"{server.url}/simulator" in printed and f"{server.url}/book" in printed

    staff = {"Authorization": f"Bearer {login.group(2)}"}
    assert server.get("/metrics", staff)[0] == 200  # the printed password is this run's staff token
    status, home = server.get("/")
    assert status == 200 and 'href="/book"' in home and 'href="/admin"' in home and "预约" in home


def test_the_home_page_links_the_pages_and_hides_development_ones_in_production(make_app):
    development = make_app(simulator_enabled=True).test_client().get("/").get_data(as_text=True)
    production = make_app().test_client().get("/").get_data(as_text=True)
    assert all(f'href="{path}"' in development for path in ("/book", "/simulator", "/admin"))
    assert 'href="/book"' in production and "/simulator" not in production and 'href="/admin"' not in production


@pytest.mark.slow
def test_the_console_chats_with_the_running_server(dev_server):
    server = dev_server()
    done = subprocess.run(
        [sys.executable, "-m", "bot.console", "--url", server.url, "--openid", "o_console_test"],
        cwd=ROOT,
        env=server.env,
        input="帮助\n/click handbook_menu\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "同舟> 您可以直接回复数字或文字" in done.stdout
    assert done.stdout.count("同舟>") == 2


@pytest.mark.slow
def test_the_console_says_how_to_start_a_server_when_none_runs():
    done = subprocess.run(
        [sys.executable, "-m", "bot.console", "--url", f"http://127.0.0.1:{free_port()}"],
        cwd=ROOT,
        input="帮助\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "make run" in done.stderr


ENTRY_POINTS = [
    ["app.py"],
    ["-m", "scheduler"],
    ["-m", "bot.console"],
    ["-m", "bot.wechat.menu"],
    ["-m", "bot.web.pages.staff"],
    ["-m", "bot.bookings.closures"],
    ["-m", "knowledge.intents"],
    ["-m", "knowledge.charity"],
    ["bench/webhook.py"],
    ["bench/booking.py"],
    ["-m", "bench.faq"],
    ["bench/load.py"],
]


@pytest.mark.slow
@pytest.mark.parametrize("command", ENTRY_POINTS, ids=" ".join)
def test_every_command_answers_help_and_exits(command):
    done = subprocess.run([sys.executable, *command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


@pytest.mark.slow
def test_the_console_prints_todays_summary_for_staff(redis_url, r):
    today = datetime.now(Config().tz).date()
    counts = {"booked": 3, "checked_in": 1, "no_show": 1, "cancelled": 1, "tomorrow": 2}
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):  # whichever day the console sees
        r.hset(summaries.KEY % day.isoformat(), "changsha-furong", json.dumps(counts))
    done = subprocess.run(
        [sys.executable, "-m", "bot.console"],
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
        input="/summary\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "每日汇总" in done.stdout
    assert "长沙市芙蓉区婚姻登记处：预约3，签到1，未到场1，取消1，明日预约2" in done.stdout
