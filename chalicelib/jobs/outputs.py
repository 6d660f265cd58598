"""Copying a prediction's output files into our bucket: fetch each one under
the output URL policy, probe it, then store it. Errors that retrying cannot
fix are ``OutputUnusable``; their messages are shown to clients, so they
never carry a URL or a local path."""
import os
from dataclasses import dataclass
import logging
from typing import Callable, List, Optional

from chalicelib import media
from chalicelib.jobs.model import Job, JobResult, StoredOutput
from chalicelib.storage import THUMBNAIL_NAME, MediaStorage, job_prefix, output_name
from chalicelib.outbound import FetchFailed, fetch
from chalicelib.urls import UrlPolicy


log = logging.getLogger(__name__)


class OutputUnusable(Exception):
    """The output cannot become a result (gone, too large, not media): fail the job."""


@dataclass(frozen=True)
class Downloaded:
    path: str
    key: str
    info: "media.MediaInfo"


class OutputCopier:
    """``max_output_bytes`` caps a job's outputs together (they sit in the processor's
    temporary storage at once)."""

    def __init__(self, storage: MediaStorage, policy: UrlPolicy, max_output_bytes: int,
                 fetcher: Callable = fetch):
        self.storage = storage
        self.policy = policy
        self.max_output_bytes = max_output_bytes
        self.fetcher = fetcher

    def download(self, job: Job, urls: List[str], workdir: str) -> List[Downloaded]:
        """Fetch and probe every output into ``workdir``; FetchFailed (not gone) is retryable."""
        prefix = self.prefix(job)
        downloaded, used = [], 0
        for i, url in enumerate(urls):
            path = os.path.join(workdir, f"output-{i}")
            try:
                with open(path, "wb") as f:
                    # The cap holds for all of a job's outputs together: they share /tmp.
                    used += self.fetcher(self.policy, url, f, self.max_output_bytes - used)
            except FetchFailed as e:
                if e.gone:
                    raise OutputUnusable(f"Output {i + 1} could not be copied: {e}.") from None
                raise
            try:
                info = media.probe(path, job.media_type)
            except media.MediaUnreadable:
                raise OutputUnusable(f"Output {i + 1} is not a readable {job.media_type} file.") \
                    from None
            downloaded.append(Downloaded(path, f"{prefix}/{output_name(i, info.ext)}", info))
        return downloaded

    def prefix(self, job: Job) -> str:
        return job_prefix(job.media_type, job.owner_id, job.user_id, job.created_at, job.job_id)

    def result_of(self, job: Job, downloaded: List[Downloaded]) -> JobResult:
        return JobResult(self.prefix(job), [StoredOutput(
            key=d.key, file_size=d.info.file_size, content_type=d.info.content_type,
            width=d.info.width, height=d.info.height, duration=d.info.duration, fps=d.info.fps)
            for d in downloaded])

    def thumbnail(self, job: Job, downloaded: List[Downloaded], workdir: str) -> Optional[str]:
        """Draw and store the preview from the local copy of the first output (no second
        download of the original); its key, or None when it cannot be drawn."""
        local = os.path.join(workdir, THUMBNAIL_NAME)
        try:
            media.make_thumbnail(downloaded[0].path, job.media_type, local)
        except media.MediaUnreadable as e:
            log.error("job %s: no thumbnail: %s", job.job_id, e)
            return None
        key = f"{self.prefix(job)}/{THUMBNAIL_NAME}"
        self.storage.upload(local, key, "image/jpeg", "thumbnail")
        return key

    def upload(self, downloaded: List[Downloaded]) -> None:
        # The original last: its creation event wakes the thumbnailer, which completes the job.
        for i, d in reversed(list(enumerate(downloaded))):
            self.storage.upload(d.path, d.key, d.info.content_type,
                                "original" if i == 0 else "output")
