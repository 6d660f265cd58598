"""The one place where a job changes status, and the one point where it ends.

Each change is a conditional write: it applies only from the statuses the
transition table allows, so duplicates, late and out-of-order events change
nothing. Only the write that actually ends a job emits its event.
"""
import logging
from typing import FrozenSet, Iterable, Optional

from chalicelib.clock import Clock
from chalicelib.jobs.model import END_EVENTS, TERMINAL, Job, JobStatus, sources_of
from chalicelib.jobs.notifier import Notifier
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition

log = logging.getLogger(__name__)


def _changed(job_id: str, to: JobStatus) -> None:
    """One log record per status write that took effect (``jobId`` and ``status`` as
    fields): the trail of what each handler did to a job (the local terminal's job
    event lines are made from it)."""
    log.info("job %s: now %s", job_id, to.value, extra={"jobId": job_id, "status": to.value})


class Lifecycle:
    def __init__(self, jobs: JobRepository, notifier: Notifier, clock: Clock):
        self.jobs = jobs
        self.notifier = notifier
        self.clock = clock

    def _allowed(self, to: JobStatus, only_from: Optional[Iterable[JobStatus]]) -> FrozenSet:
        allowed = sources_of(to)
        return allowed & frozenset(only_from) if only_from is not None else allowed

    def move(self, job_id: str, to: JobStatus, only_from: Optional[Iterable[JobStatus]] = None,
             **changes) -> Job:
        """A step that does not end the job; StaleTransition if the job is not where it may
        take it. ``only_from`` narrows the table's sources (e.g. a start applies only once)."""
        if to in TERMINAL:
            raise ValueError("a job ends through finish()")
        job = self.jobs.update(job_id, {"status": to, "updated_at": self.clock.now(), **changes},
                               self._allowed(to, only_from))
        _changed(job_id, to)
        return job

    def finish(self, job_id: str, to: JobStatus, **changes) -> Optional[Job]:
        """End the job as ``to`` and emit its event; None when it had already ended
        (or cannot end so from where it is)."""
        if to not in TERMINAL:
            raise ValueError(f"{to} is not an end")
        now = self.clock.now()
        try:
            job = self.jobs.update(job_id, {"status": to, "updated_at": now, "completed_at": now,
                                            "notification_pending": True, **changes},
                                   sources_of(to))
        except StaleTransition:
            log.info("job %s: not ended as %s (already ended)", job_id, to.value)
            return None
        _changed(job_id, to)
        return self._notify(job)

    def fail(self, job_id: str, error: str) -> Optional[Job]:
        return self.finish(job_id, JobStatus.FAILED, error=error)

    def resume_notification(self, job: Job) -> Job:
        """Emit the event of an ended job whose emission was interrupted."""
        if job.status in TERMINAL and job.notification_pending:
            log.warning("job %s: its %s event was not sent yet; sending it now", job.job_id,
                        END_EVENTS[job.status].value)
            return self._notify(job)
        return job

    def _notify(self, job: Job) -> Job:
        try:
            self.notifier.job_ended(job, END_EVENTS[job.status])
        except Exception:  # the flag stays set: the event is sent when the job is next seen
            log.exception("job %s: its %s event could not be queued", job.job_id,
                          END_EVENTS[job.status].value)
            return job
        try:
            return self.jobs.update(job.job_id, {"notification_pending": None}, [job.status])
        except StaleTransition:
            return job
