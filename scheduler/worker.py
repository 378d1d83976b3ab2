"""One tick of the scheduler: adopt pushed notices, claim what is due, run it, mark it done."""

import logging
from datetime import datetime

from bot import queue
from scheduler import jobs

log = logging.getLogger(__name__)

BATCH = 10
# Longer than BATCH jobs can take (each is at most a couple of 5-second WeChat calls), so a
# working scheduler never has its items re-queued under it.
LEASE_SECONDS = 300
MAX_ATTEMPTS = 5
HOUSEKEEPING_KEY = "every"


def run_due(now: datetime) -> int:
    """Run up to BATCH items due by `now`; returns how many left the queue (done or given up)."""
    for kind, job in jobs.JOBS.items():
        if job.housekeeping:
            queue.schedule_if_absent(kind, HOUSEKEEPING_KEY, now, {})
    queue.adopt_list(jobs.NOTICES_PENDING, jobs.NOTICE, now, BATCH)
    finished = 0
    for item in queue.claim_due(now, LEASE_SECONDS, BATCH):
        job = jobs.JOBS.get(item.kind)
        try:
            if job is None:
                raise LookupError(f"no job for kind {item.kind!r}")
            job.run(item.payload, now)
        except Exception:
            if item.attempts < MAX_ATTEMPTS:
                log.exception("job %s failed (attempt %s); retrying after its lease", item.id, item.attempts)
                continue
            log.exception("job %s failed %s times; giving up", item.id, item.attempts)
        if job and job.housekeeping:
            queue.schedule(item.kind, item.key, job.next_run(now), item.payload)
        queue.complete(item)
        finished += 1
    return finished
