"""What a client may see of its jobs: ownership, the poll limit, and a quiet
job caught up with Replicate before it is shown."""
import uuid
from typing import Dict

from chalicelib.errors import JobNotFound
from chalicelib.jobs.model import Job
from chalicelib.jobs.reconciliation import Reconciler
from chalicelib.jobs.views import job_view
from chalicelib.keys import Caller
from chalicelib.limits import Limits, RateLimiter
from chalicelib.storage import MediaStorage
from chalicelib.store import JobRepository


class JobStatusService:
    def __init__(self, jobs: JobRepository, storage: MediaStorage, limiter: RateLimiter,
                 limits: Limits, reconciler: Reconciler):
        self.jobs = jobs
        self.storage = storage
        self.limiter = limiter
        self.limits = limits
        self.reconciler = reconciler

    def owned_job(self, caller: Caller, job_id: str) -> Job:
        try:
            uuid.UUID(job_id)
        except ValueError:
            raise JobNotFound(f"No job with id '{job_id[:64]}'.") from None
        job = self.jobs.get(job_id)
        # Another client's job answers exactly like a missing one.
        if job is None or job.owner_id != caller.client_id:
            raise JobNotFound(f"No job with id '{job_id}'.")
        return job

    def status(self, caller: Caller, job_id: str) -> Dict:
        self.limiter.admit_status_poll(caller.key_id,
                                       self.limits.with_overrides(caller.limit_overrides))
        job = self.reconciler.reconcile(self.owned_job(caller, job_id))
        return job_view(job, self.storage)
