"""The custom menu: every button opens something, and `python -m bot.wechat.menu push` reaches WeChat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.router import INTENT_BY_NAME
from knowledge import menu
from tests.fakewechat import FakeWeChat

ROOT = Path(__file__).resolve().parents[1]


def test_every_click_button_opens_an_intent():
    keys = [b["key"] for b in menu.buttons() if b["type"] == "click"]
    assert keys and all(key in INTENT_BY_NAME for key in keys)


def test_menu_fits_wechat_limits():
    top = menu.definition()["button"]
    assert len(top) <= 3
    for button in top:
        assert len(button["name"].encode()) <= 16
        assert len(button.get("sub_button", [])) <= 5
        for sub in button.get("sub_button", []):
            assert len(sub["name"].encode()) <= 60


@pytest.mark.slow
def test_push_command_creates_the_menu_on_wechat(redis_url, r):
    with FakeWeChat() as wechat:
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "WECHAT_APPID": wechat.appid,
            "WECHAT_SECRET": wechat.secret,
            "WECHAT_API_BASE": wechat.base_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot.wechat.menu", "push"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert wechat.menu == menu.definition()
        assert wechat.count("token") == 1
        assert json.loads(json.dumps(wechat.menu))["button"][0]["name"] == "预约登记"


@pytest.mark.slow
def test_push_without_credentials_says_what_is_missing(redis_url):
    env = {k: v for k, v in os.environ.items() if k not in ("WECHAT_APPID", "WECHAT_SECRET")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.wechat.menu", "push"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "WECHAT_APPID" in done.stderr
