"""Where "a job ended" goes: the lifecycle's end point calls a Notifier once per job."""
import logging
from typing import Protocol

from chalicelib.jobs.model import Job, JobEvent

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def job_ended(self, job: Job, event: JobEvent) -> None: ...


class LoggingNotifier:
    def job_ended(self, job: Job, event: JobEvent) -> None:
        log.info("%s %s (user %s, model %s)", event.value, job.job_id, job.user_id, job.model_id)
