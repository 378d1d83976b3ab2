"""The Official Account's custom menu, kept as data in menu.json (what WeChat's menu API takes).

Each click button's key is the name of the router intent it opens.
"""

import json
from functools import cache
from pathlib import Path

MENU_FILE = Path(__file__).with_name("menu.json")


@cache
def definition() -> dict:
    return json.loads(MENU_FILE.read_text(encoding="utf-8"))


def buttons() -> list[dict]:
    """Every leaf button, flattened."""
    leaves = []
    for top in definition()["button"]:
        leaves.extend(top.get("sub_button") or [top])
    return leaves


def label(key: str) -> str:
    """The words on the button with this key ('' if none)."""
    return next((b["name"] for b in buttons() if b.get("key") == key), "")
