"""APScheduler as the clock and nothing more: it calls tick() every few seconds.

All state is in Redis, so the clock may skip, stall or run in several processes at once; work is
claimed atomically on each tick. Run it as its own process (`python -m scheduler`) in production,
or inside the dev server with start_in_process().
"""

import logging
from datetime import UTC, datetime, tzinfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot import store
from bot.config import Config
from bot.wechat import api, outbound
from scheduler import worker

log = logging.getLogger(__name__)


def tick(zone: tzinfo) -> None:
    """Run what is due. `now` is in the service's zone (TZ_NAME), so daily jobs keep its hours and dates."""
    try:
        worker.run_due(datetime.now(zone))
    except store.UNAVAILABLE as exc:
        log.warning("scheduler tick skipped: Redis unavailable (%s)", exc)
        store.note_unavailable("scheduler", exc)


def prepare(config: Config) -> None:
    """Outbound messages need the WeChat client and templates in this process too."""
    outbound.init(api.make_client(config), outbound.parse_templates(config.wechat_templates))


def build(scheduler_class, seconds: float, zone: tzinfo):
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every tick at INFO
    clock = scheduler_class(timezone=UTC)
    clock.add_job(
        tick,
        "interval",
        args=(zone,),
        seconds=seconds,
        id="tick",
        next_run_time=datetime.now(UTC),
        # A late tick is always worth running (due work waits in Redis until a tick claims it), so
        # no grace limit: APScheduler's default of 1 s silently skips ticks on a busy machine.
        misfire_grace_time=None,
        # Ticks missed while the process was paused collapse into one, which claims everything due.
        coalesce=True,
        # A slow tick is not overlapped by the next one in the same process.
        max_instances=1,
    )
    return clock


def start_in_process(config: Config) -> BackgroundScheduler:
    """The scheduler as a thread of the dev server, so `make run` shows reminders; call .shutdown() to stop."""
    prepare(config)
    clock = build(BackgroundScheduler, config.scheduler_tick_seconds, config.tz)
    clock.start()
    log.info("scheduler running in-process")
    return clock


def run_forever(config: Config) -> None:
    """Tick until SIGINT/KeyboardInterrupt; the tick running then finishes before this returns."""
    prepare(config)
    seconds = config.scheduler_tick_seconds
    clock = build(BlockingScheduler, seconds, config.tz)
    log.info("scheduler started: ticking every %s s", seconds)
    try:
        clock.start()
    except KeyboardInterrupt:
        clock.shutdown(wait=True)
        log.info("scheduler stopped")
