"""Catching up a quiet job with its provider: webhooks can be lost.

A job quiet for ``quiet_after_s`` is checked against its run (at most once per
that window) at the provider it runs on; what that reports goes through the
processor like a webhook. A job whose run never became known fails at its start
deadline (counted from when its start was due: its submission, or its queued
start time).
A job that reuses another's result (a follower) has no prediction and no start
deadline of its own: it lives as long as the job it follows, and ends with it.
"""
import logging
from datetime import timedelta
from typing import Callable, Optional

from chalicelib.clock import Clock
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import ACTIVE, Job, JobStatus
from chalicelib.jobs.progress import generating
from chalicelib.jobs.reuse import Reuse
from chalicelib.messages import PredictionMessage
from chalicelib.queue import MessageQueue
from chalicelib.providers.port import Provider, ProviderUnavailable
from chalicelib.providers.routing import stored_provider
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition

log = logging.getLogger(__name__)

# A job with no known prediction this long after its start was due was never
# started, or its prediction never reported.
START_DEADLINE_S = 120
# An ended job whose event is still unsent this long after its end lost it to a crash.
NOTIFY_GRACE = timedelta(seconds=10)


class Reconciler:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle, queue: MessageQueue,
                 providers: Callable[[str], Provider], clock: Clock, reuse: Reuse,
                 quiet_after_s: int, start_deadline_s: int = START_DEADLINE_S):
        self.jobs = jobs
        self.reuse = reuse
        self.lifecycle = lifecycle
        self.queue = queue
        self._providers = providers
        self.clock = clock
        self.quiet_after = timedelta(seconds=quiet_after_s)
        self.start_deadline = timedelta(seconds=start_deadline_s)

    def reconcile(self, job: Job, quiet_after: Optional[timedelta] = None) -> Job:
        """Check an active job if it has been quiet (``quiet_after``, else the window
        given at construction); returns the job as now known."""
        quiet_after = quiet_after or self.quiet_after
        now = self.clock.now()
        if job.notification_pending and job.status.is_terminal and \
                now - job.updated_at >= NOTIFY_GRACE:
            return self.lifecycle.resume_notification(job)
        if job.status not in ACTIVE or now - job.updated_at < quiet_after:
            return job
        if job.copying_until and now < job.copying_until:
            return job  # the result is being copied: the provider has nothing newer to say
        if job.reconciled_at and now - job.reconciled_at < quiet_after:
            return job
        if job.follows:
            return self._follow(job)
        if job.replicate_id is None:
            # From its start time when the pace queued the start, else from its submission.
            if now - (job.start_at or job.created_at) > self.start_deadline:
                return self.lifecycle.fail(job.job_id, "The job could not be started.") or job
            return job
        try:
            self.jobs.update(job.job_id, {"reconciled_at": now}, ACTIVE)
            provider = stored_provider(job.provider)
            prediction = self._providers(provider).get(job.model_id, job.replicate_id)
        except (StaleTransition, ProviderUnavailable) as e:
            log.warning("reconcile %s: %s", job.job_id, e)
            return job
        if prediction.is_terminal or (prediction.status == "processing"
                                      and job.status == JobStatus.PENDING):
            self.queue.send(PredictionMessage(job.job_id, prediction, provider).body())
        elif prediction.is_active and prediction.progress is not None:
            # Its logs webhooks were lost: the progress they carried, from the prediction.
            self.jobs.raise_progress(job.job_id, generating(prediction.progress))
        return job

    def _follow(self, follower: Job) -> Job:
        """A follower ends when its source has ended (its event may have been lost),
        as the source did; while the source runs, so does the follower."""
        source = self.jobs.get(follower.follows)
        if source is None:
            return self.lifecycle.fail(follower.job_id, "The job it reused no longer "
                                                        "exists.") or follower
        if source.status.is_terminal:
            self.reuse.settle(follower.job_id, source)
            return self.jobs.get(follower.job_id) or follower
        return follower
