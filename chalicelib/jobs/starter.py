"""Starting a job's run at a provider, now (a submit whose start is due) or from
the queue (batch items, and starts the pace puts later: the API call must not
wait on a provider).

Every create takes its start time from the shared pace first
(chalicelib.jobs.pacing; a Replicate throttle holds back every other start as long
as it says). The providers are then tried in the model's routing order
(``providers.routing``): one that definitely refuses for its own reasons hands the
job to the next; an unknown outcome hands it to nobody, and the job adopts its run
when that reports. From the queue, a job every provider refused with an outage is
tried again later, with a new start time not before the provider's Retry-After
when it gives one; after the last try the job fails with a clear error.
"""
import logging
from datetime import datetime, timedelta
from typing import Callable, Optional, Tuple

from chalicelib.catalog import CATALOG
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import ACTIVE, Job, JobStatus, Prediction
from chalicelib.jobs.pacing import StartPacer, StartsBacklogged, wait_s
from chalicelib.messages import StartMessage
from chalicelib.providers.health import ProviderHealth
from chalicelib.providers.port import REPLICATE, Provider, ProviderUnavailable
from chalicelib.providers.routing import NoProvider, Routes, candidates, hands_over
from chalicelib.queue import MessageQueue
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition

log = logging.getLogger(__name__)

QUEUED_START_ATTEMPTS = 10
QUEUED_RETRY_S = 10
DISPLAY_NAMES = {"replicate": "Replicate", "fal": "fal.ai"}


def display_name(provider: str) -> str:
    return DISPLAY_NAMES.get(provider, provider)


class StartRefused(Exception):
    """Every provider the job may run on definitely refused it: nothing runs."""

    def __init__(self, provider: str, error: ProviderUnavailable):
        super().__init__(f"{display_name(provider)}: {error}")
        self.provider = provider      # the last one tried
        self.error = error


class StartUnknown(Exception):
    """The create's outcome is unknown: the provider may be running the job, which
    waits for that run to report (``job``: as recorded before the create)."""

    def __init__(self, job: Job, error: ProviderUnavailable):
        super().__init__(str(error))
        self.job = job
        self.error = error


class PredictionStarter:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle,
                 providers: Callable[[str], Provider], queue: MessageQueue, pacer: StartPacer,
                 routes: Routes, health: ProviderHealth):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self._providers = providers
        self.queue = queue
        self.pacer = pacer
        self.routes = routes
        self.health = health

    def create(self, job: Job, public_base_url: str) -> Tuple[Job, Prediction]:
        """Start the job on the first provider that takes it: the job as recorded (its
        ``provider`` set) and the run. StartRefused when every one definitely refused;
        StartUnknown when the outcome is unknown; NoProvider when none may run it as
        asked."""
        params = CATALOG[job.model_id].parameters.model_validate(job.parameters)
        order = candidates(self.serving(job), self.health.is_down, lambda name: True)
        refused: Optional[StartRefused] = None
        for name in order:
            if job.provider != name:
                # Recorded before the create is sent: a run whose answer is lost is then
                # adopted from this provider, and from no other.
                job = self.jobs.update(job.job_id, {"provider": name}, ACTIVE)
            try:
                prediction = self._providers(name).create(job.model_id, params, job.job_id,
                                                          public_base_url)
            except ProviderUnavailable as e:
                if not e.definite:
                    raise StartUnknown(job, e) from e
                if e.outage:
                    self.health.failed(name)
                if e.throttled and name == REPLICATE:
                    # Our pace is above what Replicate allows this account now: every
                    # starter holds back as long as it says.
                    self.pacer.back_off(e.retry_after if e.retry_after is not None
                                        else QUEUED_RETRY_S)
                refused = StartRefused(name, e)
                if not hands_over(e):
                    break
                log.warning("job %s: %s refused the start (%s); trying the next provider",
                            job.job_id, display_name(name), e)
                continue
            self.health.succeeded(name)
            return job, prediction
        raise refused

    def serving(self, job: Job) -> Tuple[str, ...]:
        """The providers the job may run on, preferred first, whatever their health:
        NoProvider when none allowed can run it as asked."""
        params = CATALOG[job.model_id].parameters.model_validate(job.parameters)
        order = tuple(name for name in self.routes.order(job.model_id, job.pinned_provider)
                      if self._providers(name).serves(job.model_id, params))
        if not order:
            raise NoProvider(f"no provider allowed for {job.model_id} can run it as asked")
        return order

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
        self.queue.send(StartMessage(job_id, public_base_url, attempt, start_at).body(),
                        delay_s=wait_s(start_at, self.pacer.clock.now()))

    def start_queued(self, message: StartMessage) -> None:
        job = self.jobs.get(message.job_id)
        if job is None or job.status != JobStatus.PENDING or job.replicate_id:
            return  # started, adopted, cancelled or gone meanwhile
        attempt, base, start = message.attempt, message.webhook_base, message.start_at
        now = self.pacer.clock.now()
        if start is None:
            self._queue_retry(job, base, attempt, not_before=now)
            return
        if wait_s(start, now) > 0:
            self.queue_start(job.job_id, base, start, attempt)
            return
        try:
            job, prediction = self.create(job, base)
            self.record(job, prediction)
            return
        except StaleTransition:
            return  # cancelled meanwhile
        except NoProvider as e:
            self.lifecycle.fail(job.job_id, f"The job cannot run: {e}.")
            return
        except StartUnknown as e:
            log.warning("job %s: the answer to create is unknown (%s); the job waits for "
                        "its run to report", job.job_id, e)
            return
        except StartRefused as refused:
            e, who = refused.error, display_name(refused.provider)
            retryable = hands_over(e)
            if retryable and attempt < QUEUED_START_ATTEMPTS:
                delay = e.retry_after if e.retry_after is not None else QUEUED_RETRY_S
                log.info("job %s: %s said %s; start again in %s s or later", job.job_id, who,
                         e, delay)
                self._queue_retry(job, base, attempt + 1,
                                  not_before=now + timedelta(seconds=delay))
                return
            why = "kept throttling" if e.throttled else (
                "could not be reached" if not e.sent else f"refused it (HTTP {e.status})")
            self.lifecycle.fail(job.job_id, f"The prediction could not be started: {who} "
                                            f"{why} after {attempt} attempts."
                                if retryable else f"{who} {why}.")

    def _queue_retry(self, job: Job, base: str, attempt: int, not_before: datetime) -> None:
        """Another create takes another start time; when the pace is full, the message
        comes back when it has room (and takes its time then)."""
        try:
            start = self.pacer.reserve(not_before)
        except StartsBacklogged as e:
            log.info("job %s: the start schedule is full; asking again in %s s", job.job_id,
                     e.retry_after)
            self.queue.send(StartMessage(job.job_id, base, attempt).body(),
                            delay_s=e.retry_after)
            return
        try:  # the start deadline counts from the new time
            self.jobs.update(job.job_id, {"start_at": start}, [JobStatus.PENDING])
        except StaleTransition:
            return  # cancelled (or ended) meanwhile: nothing to start
        self.queue_start(job.job_id, base, start, attempt)
