"""`python -m scheduler`: the scheduler process. Run one or more beside the app; see README."""

import argparse
import logging
import signal
import sys

from bot import store
from bot.config import Config, ConfigError, use
from scheduler import clock


def main(argv=None) -> int:
    argparse.ArgumentParser(
        prog="python -m scheduler",
        description="The scheduler: reminders, notices, no-shows, summaries. Runs until SIGTERM or Ctrl-C.",
        epilog="Settings come from the environment: REDIS_URL or REDIS_SENTINELS, WECHAT_APPID, WECHAT_SECRET, "
        "WECHAT_TEMPLATES, SCHEDULER_TICK_SECONDS (README, Configuration). Any number may run at once.",
    ).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = use(Config.from_env())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not store.connect_shared(config, "the scheduler runs as its own process"):
        return 2
    # SIGTERM (systemd, docker stop) ends like Ctrl-C: the running tick finishes first.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    clock.run_forever(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
