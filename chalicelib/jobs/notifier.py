"""Where "a job ended" goes: the lifecycle's end point calls a Notifier once per job."""
from typing import Protocol

from chalicelib.jobs.model import Job, JobEvent


class Notifier(Protocol):
    def job_ended(self, job: Job, event: JobEvent) -> None: ...
