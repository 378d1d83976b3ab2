"""Push the custom menu (knowledge/menu.json) to the Official Account.

python -m bot.wechat.menu push     # uses WECHAT_APPID / WECHAT_SECRET / WECHAT_API_BASE
python -m bot.wechat.menu show     # print the JSON that would be pushed
"""

import argparse
import json
import sys

from bot import store
from bot.config import Config, ConfigError
from bot.wechat.api import make_client
from knowledge import menu


def push(config: Config) -> dict:
    """Create the menu through WeChat's menu/create API; returns WeChat's answer."""
    return make_client(config).menu.create(menu.definition())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["push", "show"])
    args = parser.parse_args(argv)
    if args.action == "show":
        print(json.dumps(menu.definition(), ensure_ascii=False, indent=2))
        return 0
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if not (config.wechat_appid and config.wechat_secret):
        print("configuration error: WECHAT_APPID and WECHAT_SECRET are needed to push the menu", file=sys.stderr)
        return 2
    store.connect_for(config)  # the access token is shared through the store
    print(f"menu pushed: {push(config)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
