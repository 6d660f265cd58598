"""A client stopping a job it no longer wants.

The cancel is the lifecycle's conditional end, so a cancel and a completion
racing each other end in exactly one terminal state with one event. The
prediction is then cancelled at Replicate; if that call fails, or the
prediction is not known yet, it is cancelled when it next reports (the
processor cancels predictions of ended jobs).
"""
import logging
from typing import Callable, Dict

from chalicelib.errors import JobNotCancellable
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import Job, JobStatus
from chalicelib.jobs.status import JobStatusService
from chalicelib.jobs.views import job_view
from chalicelib.replicate import Replicate, ReplicateUnavailable

log = logging.getLogger(__name__)

CANCELLED_BY_CLIENT = "The job was cancelled by the client."


class JobControl:
    def __init__(self, status: JobStatusService, lifecycle: Lifecycle,
                 replicate: Callable[[], Replicate]):
        self.status = status
        self.lifecycle = lifecycle
        self._replicate = replicate

    def cancel(self, job: Job) -> Dict:
        """The job's view (a job the caller reaches), now cancelled (a repeated cancel
        answers the same); JobNotCancellable if it completed or failed first."""
        if not job.status.is_terminal:
            job = self.lifecycle.finish(job.job_id, JobStatus.CANCELLED,
                                        error=CANCELLED_BY_CLIENT) \
                or self.status.jobs.get(job.job_id)  # it ended meanwhile: as what?
        job = self.lifecycle.resume_notification(job)
        if job.status != JobStatus.CANCELLED:
            raise JobNotCancellable(f"The job has already ended: it is {job.status.value}.",
                                    extra={"status": job.status.value})
        if job.replicate_id:
            try:
                self._replicate().cancel_prediction(job.replicate_id)
            except ReplicateUnavailable as e:
                log.warning("job %s: prediction %s not cancelled now (%s); it will be when it "
                            "reports", job.job_id, job.replicate_id, e)
        return job_view(job, self.status.storage)
