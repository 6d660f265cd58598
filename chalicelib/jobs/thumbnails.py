"""The original's storage event completes its job; the preview beside it is
drawn here only when the processor could not draw it from its local copy."""
import logging
import os
import tempfile
from typing import Optional

from chalicelib import media
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import Job, JobStatus
from chalicelib.storage import THUMBNAIL_NAME, MediaStorage, parse_original_key
from chalicelib.jobs.persistence import JobRepository

log = logging.getLogger(__name__)


class Thumbnails:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle, storage: MediaStorage):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self.storage = storage

    def on_original_stored(self, key: str) -> None:
        job_id = parse_original_key(key)
        if job_id is None:
            return  # thumbnails and extra outputs
        job = self.jobs.get(job_id)
        if job is not None and job.status.is_terminal:
            self.lifecycle.resume_notification(job)  # a redelivery after a crash
        if job is None or job.cached or job.status != JobStatus.PROCESSING or job.result is None \
                or job.result.original.key != key:
            log.info("object %s: no job waiting for it", key)
            return
        # The processor drew the preview from its local copy; only when it could not is
        # the original read back here to try again.
        thumbnail_key = job.thumbnail_key or self._draw(job, key)
        finished = self.lifecycle.clock.now()
        self.lifecycle.finish(job_id, JobStatus.COMPLETED, thumbnail_key=thumbnail_key,
                              processing_time=int((finished - job.created_at).total_seconds()))

    def _draw(self, job: Job, key: str) -> Optional[str]:
        thumbnail_key = f"{job.result.s3_path}/{THUMBNAIL_NAME}"
        with tempfile.TemporaryDirectory(prefix="vsl-") as workdir:
            src, dst = os.path.join(workdir, "original"), os.path.join(workdir, THUMBNAIL_NAME)
            self.storage.download_file(key, src)
            try:
                media.make_thumbnail(src, job.media_type, dst)
                self.storage.upload(dst, thumbnail_key, "image/jpeg", "thumbnail")
            except media.MediaUnreadable as e:
                # The original was probed already; a job is not failed for its preview.
                log.error("job %s: no thumbnail: %s", job.job_id, e)
                return None
        return thumbnail_key
