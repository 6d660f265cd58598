"""Admitting a request: the caller's rights, the rate limits, the job record,
and the start of its run at a provider (the starter tries them in order).

Only a definite refusal by every provider tried (error answers, or requests that
never left) fails the job and gives the submission back. When the outcome is
unknown (a timeout, a connection lost after sending), that provider may be
running the work: the job stays pending, adopts the run whose webhook names it,
and fails only at its start deadline.

Starts keep to Replicate's pace (chalicelib.jobs.pacing): a submit takes its
start time first, and one not due now is queued until then; when starts are
queued further ahead than the longest wait, the submit is refused (503) and
given back.
"""
import logging
import uuid
from dataclasses import dataclass
from typing import Callable

from chalicelib import logs
from chalicelib.clock import Clock
from chalicelib.authorization import require_user
from chalicelib.errors import ReplicateRefused, ServiceUnavailable, ValidationFailed
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import Job, JobStatus
from chalicelib.jobs.pacing import wait_s
from chalicelib.jobs.reuse import Reuse, cache_key
from chalicelib.jobs.starter import PredictionStarter, StartRefused, StartUnknown, display_name
from chalicelib.keys import Caller
from chalicelib.limits import Admission, Limits, RateLimiter
from chalicelib.providers.routing import NoProvider
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition
from chalicelib.validation import GenerateRequest

log = logging.getLogger(__name__)

# When Replicate throttles without saying for how long.
DEFAULT_RETRY_AFTER_S = 30


@dataclass(frozen=True)
class Accepted:
    job: Job
    admission: Admission


class Submission:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle,
                 limiter: RateLimiter, limits: Limits, clock: Clock, reuse: Reuse,
                 starter: PredictionStarter, cache_by_default: bool,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self.limiter = limiter
        self.limits = limits
        self.clock = clock
        self.reuse = reuse
        self.starter = starter
        self.cache_by_default = cache_by_default
        self.new_id = new_id

    def submit(self, caller: Caller, request: GenerateRequest, public_base_url: str,
               start_later: bool = False) -> Accepted:
        """Admit and record the job, then start its prediction now, or from the queue
        when ``start_later`` (the call must not wait on Replicate) or when Replicate's
        pace puts its start later, or take an identical job's result when the
        request asks for reuse."""
        require_user(caller, request.user_id, "submit jobs")
        model, params = request.model, request.parameters
        # Rejections before this point (401, 400, 403) cost the caller nothing; a reused
        # result still counts (the limits count requests).
        admission = self.limiter.admit_submission(
            caller.client_id, request.user_id, self.limits.with_overrides(caller.limit_overrides))
        now = self.clock.now()
        parameters = params.model_dump(mode="json")
        job = Job(job_id=self.new_id(), owner_id=caller.client_id, user_id=request.user_id,
                  media_type=model.media_type, model_id=model.model_id, parameters=parameters,
                  status=JobStatus.PENDING, created_at=now, updated_at=now,
                  estimated_time=model.estimated_time_s,
                  estimated_cost=model.estimated_cost(params), webhook_url=request.webhook_url,
                  cache_key=cache_key(caller.client_id, model.model_id, parameters),
                  pinned_provider=request.provider)
        use_cache = self.cache_by_default if request.cache is None else request.cache
        try:
            source = self.reuse.source_for(caller, job.cache_key) if use_cache else None
            if source is not None:
                job = job.with_changes(cached=True, estimated_cost=0.0)
            else:
                # Recorded with the provider it is meant to start on (the starter records
                # another only when it fails over), and its place in Replicate's pace; a
                # start not due now is queued until then.
                job = job.with_changes(provider=self.starter.serving(job)[0])
                start = self.starter.pacer.reserve()
                if start_later or wait_s(start, now) > 0:
                    job = job.with_changes(start_at=start)
            self.jobs.create(job)
        except NoProvider as e:  # nothing recorded: a request no provider can run
            self._refund(admission)
            raise ValidationFailed(f"No provider can run this job as asked: {e}.") from None
        except Exception:
            # Nothing was started: the submission is given back (an outage, or a backlog
            # of starts longer than the longest wait, answers 503).
            self._refund(admission)
            raise
        if source is not None:
            return Accepted(self.reuse.take(job, source), admission)
        with logs.job_context(job.job_id):
            return self._start(job, admission, public_base_url)

    @staticmethod
    def _refund(admission: Admission) -> None:
        try:
            admission.refund()
        except Exception:  # the limits' store is failing too: under-admitting is safe
            log.exception("a submission could not be given back")

    def _start(self, job: Job, admission: Admission, public_base_url: str) -> Accepted:
        if job.start_at is not None:
            self.starter.queue_start(job.job_id, public_base_url, job.start_at)
            return Accepted(job, admission)
        try:
            job, prediction = self.starter.create(job, public_base_url)
        except StaleTransition:
            return Accepted(self.jobs.get(job.job_id) or job, admission)  # cancelled meanwhile
        except NoProvider as e:  # the routing changed since the job was recorded
            self.lifecycle.fail(job.job_id, f"The job cannot run: {e}.")
            admission.refund()
            raise ValidationFailed(f"No provider can run this job as asked: {e}.") from None
        except StartUnknown as e:  # the run may exist
            log.warning("job %s: the answer to create is unknown (%s); the job waits for "
                        "its run to report", job.job_id, e)
            return Accepted(e.job, admission)
        except StartRefused as refused:
            e, who = refused.error, display_name(refused.provider)
            self.lifecycle.fail(job.job_id, f"{who} did not accept the prediction.")
            admission.refund()
            log.warning("job %s: %s refused the prediction: %s", job.job_id, who, e)
            limits = {"quotas": admission.quotas, "now": admission.now}
            retry_after = e.retry_after if e.retry_after is not None else DEFAULT_RETRY_AFTER_S
            if e.throttled or not e.sent:
                # (A Replicate throttle has held the pace back already: the starter did.)
                raise ServiceUnavailable(
                    f"{who} is throttling new predictions; retry later." if e.throttled else
                    f"{who} cannot be reached; retry later.",
                    retry_after=retry_after, **limits) from None
            raise ReplicateRefused(f"{who} refused the prediction (HTTP {e.status}).",
                                   **limits) from None
        return Accepted(self.starter.record(job, prediction), admission)
