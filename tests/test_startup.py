"""Starting the service: bad configuration stops it with one clear line; the console works."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.bookings import summaries
from bot.config import Config, ConfigError

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


@pytest.mark.slow
def test_console_chats_through_the_real_pipeline(redis_url, r):
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot.console", "--openid", "o_console_test"],
        cwd=ROOT,
        env=env,
        input="帮助\n/click handbook_menu\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "同舟> 您可以直接回复数字或文字" in done.stdout
    assert done.stdout.count("同舟>") == 2


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
