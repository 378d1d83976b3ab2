"""gunicorn's settings for Tongzhou: `gunicorn -c gunicorn.conf.py app:app` (README, "Operations").

Where it listens and how many workers it runs come from the environment through bot/config.py
(HOST, PORT, WORKERS), like every other setting; the rest is fixed here because the service
depends on it.
"""

from pathlib import Path

from bot.config import Config

_config = Config.from_env()

bind = f"{_config.host}:{_config.port}"
workers = _config.workers
worker_class = "sync"
# The master loads and checks the app once (configuration, offices, handbook): a bad setting stops
# start-up with its one line, and workers fork ready in milliseconds, well inside `timeout`.
preload_app = True
# WeChat gives up on a reply after 5 s and retries; a worker silent for longer than 4 s is stuck
# (every Redis call times out in 0.8 s), so it is replaced rather than left holding requests.
timeout = 4
# SIGTERM: stop accepting, let requests in flight finish (a turn takes milliseconds), then exit.
graceful_timeout = 10
keepalive = 5  # nginx keeps upstream connections open (deploy/nginx-tongzhou.conf)
# Off: every gunicorn on a host would otherwise share ~/.gunicorn/gunicorn.ctl, and a second one
# (a staging copy, a test) fails to start or takes over the first one's socket.
control_socket_disable = True
worker_tmp_dir = "/dev/shm"  # the heartbeat files: in memory, so a slow disk never looks like a stuck worker
accesslog = "-"
errorlog = "-"
# The path only (%(U)s), never the query string: WeChat's signature, timestamp and nonce ride there,
# and a logged signed URL could be replayed within the clock-skew window. No referer for the same reason.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms %({x-request-id}i)s'

if _config.prometheus_multiproc_dir:
    # Every worker (and a scheduler pointed at the same directory) writes its metrics here; /metrics adds them up.
    Path(_config.prometheus_multiproc_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker that exits leaves its counters for /metrics to keep summing, but no live gauges."""
    if _config.prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _config.prometheus_multiproc_dir)
