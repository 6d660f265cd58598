"""Starting a job's prediction at Replicate, now (a submit whose start is due)
or from the queue (batch items, and starts the pace puts later: the API call
must not wait on Replicate).

Every create takes its start time from the shared pace first
(chalicelib.jobs.pacing). From the queue, throttling and Replicate's own errors
are retried later, with a new start time not before Replicate's Retry-After
when it gives one (a throttle also holds back every other start that long);
after the last try the job fails with a clear error. An unknown outcome leaves
the job to adopt its prediction.
"""
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from chalicelib.catalog import CATALOG
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import ACTIVE, Job, JobStatus, Prediction
from chalicelib.jobs.pacing import StartPacer, StartsBacklogged, wait_s
from chalicelib.queue import MessageQueue
from chalicelib.replicate import Replicate, ReplicateUnavailable
from chalicelib.store import JobRepository, StaleTransition

log = logging.getLogger(__name__)

QUEUED_START_ATTEMPTS = 10
QUEUED_RETRY_S = 10


def webhook_url(public_base_url: str, job_id: str) -> str:
    return f"{public_base_url}/webhook/replicate?jobId={job_id}"


def start_message(job_id: str, public_base_url: str, attempt: int = 1,
                  start_at: Optional[datetime] = None) -> dict:
    """A queued start; ``startAt`` (Unix seconds) is the time taken from the pace.
    Without it (a message from before the pace, or a refused reservation) the
    start takes its time when it arrives."""
    message = {"kind": "start", "jobId": job_id, "webhookBase": public_base_url,
               "attempt": attempt}
    if start_at is not None:
        message["startAt"] = start_at.timestamp()
    return message


class PredictionStarter:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle,
                 replicate: Callable[[], Replicate], queue: MessageQueue, pacer: StartPacer):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self._replicate = replicate
        self.queue = queue
        self.pacer = pacer

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

    def queue_start(self, job_id: str, public_base_url: str, start_at: datetime,
                    attempt: int = 1) -> None:
        """Start the job from the queue at ``start_at`` (a longer wait than SQS's
        longest delay arrives early and is queued again for the rest)."""
        self.queue.send(start_message(job_id, public_base_url, attempt, start_at),
                        delay_s=wait_s(start_at, self.pacer.clock.now()))

    def start_queued(self, message: dict) -> None:
        job = self.jobs.get(message["jobId"])
        if job is None or job.status != JobStatus.PENDING or job.replicate_id:
            return  # started, adopted, cancelled or gone meanwhile
        attempt = int(message.get("attempt", 1))
        base = message["webhookBase"]
        now = self.pacer.clock.now()
        if message.get("startAt") is None:
            self._queue_retry(job, base, attempt, not_before=now)
            return
        start = datetime.fromtimestamp(float(message["startAt"]), timezone.utc)
        if wait_s(start, now) > 0:
            self.queue_start(job.job_id, base, start, attempt)
            return
        try:
            self.record(job, self.create(job, base))
            return
        except ReplicateUnavailable as e:
            if not e.definite:
                log.warning("job %s: Replicate's answer to create is unknown (%s); the job "
                            "waits for its prediction to report", job.job_id, e)
                return
            retryable = e.throttled or not e.sent or (e.status or 0) >= 500
            if retryable and attempt < QUEUED_START_ATTEMPTS:
                delay = e.retry_after if e.retry_after is not None else QUEUED_RETRY_S
                log.info("job %s: Replicate said %s; start again in %s s or later", job.job_id,
                         e, delay)
                if e.throttled:
                    self.pacer.back_off(delay)
                self._queue_retry(job, base, attempt + 1, not_before=now + timedelta(seconds=delay))
                return
            why = "kept throttling" if e.throttled else (
                "could not be reached" if not e.sent else f"refused it (HTTP {e.status})")
            self.lifecycle.fail(job.job_id, f"The prediction could not be started: Replicate "
                                            f"{why} after {attempt} attempts."
                                if retryable else f"Replicate {why}.")

    def _queue_retry(self, job: Job, base: str, attempt: int, not_before: datetime) -> None:
        """Another create takes another start time; when the pace is full, the message
        comes back when it has room (and takes its time then)."""
        try:
            start = self.pacer.reserve(not_before)
        except StartsBacklogged as e:
            log.info("job %s: the start schedule is full; asking again in %s s", job.job_id,
                     e.retry_after)
            self.queue.send(start_message(job.job_id, base, attempt), delay_s=e.retry_after)
            return
        try:  # the start deadline counts from the new time
            self.jobs.update(job.job_id, {"start_at": start}, [JobStatus.PENDING])
        except StaleTransition:
            return  # cancelled (or ended) meanwhile: nothing to start
        self.queue_start(job.job_id, base, start, attempt)
