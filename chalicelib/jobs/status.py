"""What a principal sees of a job it reaches (chalicelib.authorization decides
that): the poll limit, and a quiet job caught up with Replicate before it is shown."""
from typing import Dict

from chalicelib.jobs.model import Job
from chalicelib.jobs.reconciliation import Reconciler
from chalicelib.jobs.views import job_view
from chalicelib.keys import Caller
from chalicelib.limits import Limits, RateLimiter
from chalicelib.storage import MediaStorage
from chalicelib.jobs.persistence import JobRepository


class JobStatusService:
    def __init__(self, jobs: JobRepository, storage: MediaStorage, limiter: RateLimiter,
                 limits: Limits, reconciler: Reconciler):
        self.jobs = jobs
        self.storage = storage
        self.limiter = limiter
        self.limits = limits
        self.reconciler = reconciler

    def status(self, caller: Caller, job: Job) -> Dict:
        self.limiter.admit_status_poll(caller.key_id,
                                       self.limits.with_overrides(caller.limit_overrides))
        return job_view(self.reconciler.reconcile(job), self.storage)
