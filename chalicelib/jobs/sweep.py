"""The scheduled sweep (every minute): jobs nobody polls still end.

It reads the sparse by-open index (never a scan): an active job quiet for
longer than its model's expected time is reconciled with Replicate (lost
webhooks), one past its start deadline fails, and an ended job whose event was
never queued (a crash) has it sent. The open jobs' status and times are read in
batches of a few attributes; only a job acted on is read whole.

A sweep stops after ``budget_s``, well inside the function's timeout and the
schedule's minute: runs never overlap, and what is left waits for the next one.
"""
import logging
from datetime import timedelta
from typing import Dict

from chalicelib.clock import Clock
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.reconciliation import Reconciler
from chalicelib.jobs.persistence import JobRepository

log = logging.getLogger(__name__)

# Nothing quieter than this is looked at (the shortest expected time).
MIN_QUIET_S = 5
# The sweep function's timeout is 60 s (.chalice/config.json), as is the schedule.
DEFAULT_BUDGET_S = 40


class Sweeper:
    def __init__(self, jobs: JobRepository, reconciler: Reconciler, lifecycle: Lifecycle,
                 clock: Clock, budget_s: float = DEFAULT_BUDGET_S):
        self.jobs = jobs
        self.reconciler = reconciler
        self.lifecycle = lifecycle
        self.clock = clock
        self.budget = timedelta(seconds=budget_s)

    def sweep(self) -> Dict[str, int]:
        started = self.clock.now()
        counts = {"seen": 0, "resent": 0, "checked": 0, "out_of_time": 0}
        for hit in self.jobs.open_jobs(started - timedelta(seconds=MIN_QUIET_S)):
            if self.clock.now() - started >= self.budget:
                counts["out_of_time"] = 1  # the rest waits for the next sweep
                break
            counts["seen"] += 1
            if hit.status.is_terminal:
                job = self.jobs.get(hit.job_id)
                if job is not None:
                    self.lifecycle.resume_notification(job)
                    counts["resent"] += 1
                continue
            quiet = timedelta(seconds=max(MIN_QUIET_S, hit.estimated_time))
            if self.clock.now() - hit.updated_at >= quiet:
                job = self.jobs.get(hit.job_id)
                if job is not None:
                    self.reconciler.reconcile(job, quiet_after=quiet)
                    counts["checked"] += 1
        if counts["seen"]:
            log.info("sweep: %s", counts)
        return counts
