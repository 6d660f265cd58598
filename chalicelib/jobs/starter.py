"""Starting a job's prediction at Replicate, now (a single submit) or from the
queue (batch items: the API call must not wait on Replicate).

From the queue, throttling and Replicate's own errors are retried later, with
Replicate's Retry-After when it gives one; after the last try the job fails
with a clear error. An unknown outcome leaves the job to adopt its prediction.
"""
import logging
from typing import Callable

from chalicelib.catalog import CATALOG
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import ACTIVE, Job, JobStatus, Prediction
from chalicelib.queue import MessageQueue
from chalicelib.replicate import Replicate, ReplicateUnavailable
from chalicelib.store import JobRepository, StaleTransition

log = logging.getLogger(__name__)

QUEUED_START_ATTEMPTS = 10
QUEUED_RETRY_S = 10


def webhook_url(public_base_url: str, job_id: str) -> str:
    return f"{public_base_url}/webhook/replicate?jobId={job_id}"


def start_message(job_id: str, public_base_url: str, attempt: int = 1) -> dict:
    return {"kind": "start", "jobId": job_id, "webhookBase": public_base_url, "attempt": attempt}


class PredictionStarter:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle,
                 replicate: Callable[[], Replicate], queue: MessageQueue):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self._replicate = replicate
        self.queue = queue

    def create(self, job: Job, public_base_url: str) -> Prediction:
        """Ask Replicate to run the job; ReplicateUnavailable says how that went."""
        entry = CATALOG[job.model_id]
        params = entry.parameters.model_validate(job.parameters)
        return self._replicate().create_prediction(
            entry.replicate_model, entry.to_replicate_input(params),
            webhook_url(public_base_url, job.job_id))

    def record(self, job: Job, prediction: Prediction) -> Job:
        try:
            # Not a status change; the start webhook may have set the same id already.
            return self.jobs.update(job.job_id, {"replicate_id": prediction.id}, ACTIVE)
        except StaleTransition:
            return self.jobs.get(job.job_id) or job

    def start_queued(self, message: dict) -> None:
        job = self.jobs.get(message["jobId"])
        if job is None or job.status != JobStatus.PENDING or job.replicate_id:
            return  # started, adopted, cancelled or gone meanwhile
        attempt = int(message.get("attempt", 1))
        try:
            self.record(job, self.create(job, message["webhookBase"]))
            return
        except ReplicateUnavailable as e:
            if not e.definite:
                log.warning("job %s: Replicate's answer to create is unknown (%s); the job "
                            "waits for its prediction to report", job.job_id, e)
                return
            retryable = e.throttled or not e.sent or (e.status or 0) >= 500
            if retryable and attempt < QUEUED_START_ATTEMPTS:
                delay = e.retry_after if e.retry_after is not None else QUEUED_RETRY_S
                log.info("job %s: Replicate said %s; start again in %s s", job.job_id, e, delay)
                self.queue.send(start_message(job.job_id, message["webhookBase"], attempt + 1),
                                delay_s=delay)
                return
            why = "kept throttling" if e.throttled else (
                "could not be reached" if not e.sent else f"refused it (HTTP {e.status})")
            self.lifecycle.fail(job.job_id, f"The prediction could not be started: Replicate "
                                            f"{why} after {attempt} attempts."
                                if retryable else f"Replicate {why}.")
