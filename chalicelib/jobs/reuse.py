"""Reuse of identical results: a submission asking for ``cache`` takes the
media of an identical job instead of running the model again.

Identical means the same client, model and parameters once defaults are
filled in, and the result must be within the caller's reach
(chalicelib.authorization): a key bound to a user reuses only that user's
results; the client's unbound key reuses any of its users'. A completed job within the window gives its media at once (copied
into the new job's folder, so it lives as long as the new job's own would); a
running one is followed: the follower ends when it ends, with the same media or
the same failure. Failed and cancelled jobs are never reused. A reused job
costs 0 and calls no model.
"""
import hashlib
import json
import logging
from datetime import timedelta
from typing import Optional

from chalicelib.authorization import reaches_job
from chalicelib.clock import Clock
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.keys import Caller
from chalicelib.jobs.model import ACTIVE, Job, JobResult, JobStatus, StoredOutput
from chalicelib.storage import THUMBNAIL_NAME, MediaStorage, job_prefix
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition

log = logging.getLogger(__name__)

def cache_key(client_id: str, model_id: str, parameters: dict) -> str:
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{client_id}|{model_id}|{canonical}".encode()).hexdigest()


class Reuse:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle, storage: MediaStorage,
                 clock: Clock, window_s: int):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self.storage = storage
        self.clock = clock
        self.window = timedelta(seconds=window_s)

    def source_for(self, caller: Caller, key: str) -> Optional[Job]:
        """The newest completed or running job with this key in the window that the
        caller reaches (a follower stands for the job it follows, which must be
        reachable too). The index holds a few attributes: a hit is read whole."""
        for hit in self.jobs.latest_with_cache_key(key, self.clock.now() - self.window):
            if hit.status != JobStatus.COMPLETED and hit.status not in ACTIVE:
                continue
            job = self.jobs.get(hit.job_id)
            if job is None or not reaches_job(caller, job):
                continue
            if job.status == JobStatus.COMPLETED and job.result is not None:
                return job
            if job.status in ACTIVE:
                source = (job.follows and self.jobs.get(job.follows)) or job
                if reaches_job(caller, source):
                    return source
        return None

    def take(self, follower: Job, source: Job) -> Job:
        """Give the new (pending) job the source's result now, or follow the source."""
        if source.status in ACTIVE:
            self.jobs.update(follower.job_id, {"follows": source.job_id}, ACTIVE)
            # The source may have ended while the follower was written: settle it now.
            current = self.jobs.get(source.job_id)
            if current is not None and current.status.is_terminal:
                self.settle(follower.job_id, current)
            return self.jobs.get(follower.job_id)
        self.settle(follower.job_id, source)
        return self.jobs.get(follower.job_id)

    def settle_followers(self, source_id: str) -> int:
        """The source ended: end every job following it the same way."""
        source = self.jobs.get(source_id)
        if source is None or not source.status.is_terminal:
            return 0
        return sum(self.settle(follower_id, source)
                   for follower_id in self.jobs.followers_of(source_id))

    def settle(self, follower_id: str, source: Job) -> bool:
        """End an active follower as its source ended; whether it was still active."""
        follower = self.jobs.get(follower_id)
        if follower is None or follower.status not in ACTIVE:
            return False
        if source.status != JobStatus.COMPLETED or source.result is None:
            self.lifecycle.finish(follower_id, JobStatus.FAILED,
                                  error=f"The job it reused ({source.job_id}) did not complete: "
                                        f"{source.error or source.status.value}")
            return True
        result, thumbnail_key = self._copy_media(source, follower)
        now = self.clock.now()
        try:
            self.lifecycle.move(follower_id, JobStatus.PROCESSING, only_from=ACTIVE,
                                result=result, started_at=now)
        except StaleTransition:
            return False
        self.lifecycle.finish(follower_id, JobStatus.COMPLETED, thumbnail_key=thumbnail_key,
                              processing_time=int((now - follower.created_at).total_seconds()))
        return True

    def _copy_media(self, source: Job, follower: Job):
        prefix = job_prefix(follower.media_type, follower.owner_id, follower.user_id,
                            follower.created_at, follower.job_id)
        outputs = []
        for output in source.result.outputs:
            key = f"{prefix}/{output.key.rsplit('/', 1)[1]}"
            self.storage.copy(output.key, key)
            outputs.append(StoredOutput(key, output.file_size, output.content_type,
                                        output.width, output.height, output.duration,
                                        output.fps))
        thumbnail_key = None
        if source.thumbnail_key:
            thumbnail_key = f"{prefix}/{THUMBNAIL_NAME}"
            self.storage.copy(source.thumbnail_key, thumbnail_key)
        return JobResult(prefix, outputs), thumbnail_key
