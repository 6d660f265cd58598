"""The scheduled sweep (every minute): jobs nobody polls still end.

It reads the sparse by-open index (never the table): an active job quiet for
longer than its model's expected time is reconciled with Replicate (lost
webhooks), one past its start deadline fails, and an ended job whose event was
never queued (a crash) has it sent.
"""
import logging
from datetime import timedelta
from typing import Dict

from chalicelib.clock import Clock
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.reconciliation import Reconciler
from chalicelib.store import JobRepository

log = logging.getLogger(__name__)

# Nothing quieter than this is looked at (the shortest expected time).
MIN_QUIET_S = 5


class Sweeper:
    def __init__(self, jobs: JobRepository, reconciler: Reconciler, lifecycle: Lifecycle,
                 clock: Clock):
        self.jobs = jobs
        self.reconciler = reconciler
        self.lifecycle = lifecycle
        self.clock = clock

    def sweep(self) -> Dict[str, int]:
        counts = {"seen": 0, "resent": 0, "checked": 0}
        for job in self.jobs.open_jobs(self.clock.now() - timedelta(seconds=MIN_QUIET_S)):
            counts["seen"] += 1
            if job.status.is_terminal:
                self.lifecycle.resume_notification(job)
                counts["resent"] += 1
                continue
            quiet = timedelta(seconds=max(MIN_QUIET_S, job.estimated_time))
            if self.clock.now() - job.updated_at >= quiet:
                self.reconciler.reconcile(job, quiet_after=quiet)
                counts["checked"] += 1
        if counts["seen"]:
            log.info("sweep: %s", counts)
        return counts
