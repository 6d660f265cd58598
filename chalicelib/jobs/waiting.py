"""``Prefer: wait=N`` on a submit: the answer waits up to N seconds for the job to end.

The header follows Replicate's (its create prediction's ``Prefer``): ``wait`` alone
waits the longest allowed, ``wait=N`` N whole seconds, and a value that is not a
whole number within the limit is refused; other preferences are ignored (RFC 7240).
Our limit is 25 s: the API's function has 25 s in all and API Gateway 29 s.

The wait reads the job from the store (one consistent read, about 1 RCU) at a
growing interval, 0.1 s up to 0.5 s: about 55 reads in a full 25 s.
"""
import re
import time
from typing import TYPE_CHECKING, Callable, Optional

from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:  # the OpenAPI document reads MAX_WAIT_S: the store stays off its imports
    from chalicelib.jobs.model import Job
    from chalicelib.jobs.persistence import JobRepository

MAX_WAIT_S = 25
_SECONDS = re.compile(r"[1-9][0-9]?")


def parse_prefer_wait(header: Optional[str]) -> Optional[int]:
    """The seconds a ``Prefer`` header asks to wait; None when it asks for no wait."""
    for preference in (header or "").split(","):
        token, _, value = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not value:
            return MAX_WAIT_S
        if not _SECONDS.fullmatch(value) or int(value) > MAX_WAIT_S:
            raise ValidationFailed(f"Prefer: wait takes a whole number of seconds from 1 to "
                                   f"{MAX_WAIT_S}, or no value for {MAX_WAIT_S}; got "
                                   f"{value[:20]!r}.", code="INVALID_VALUE")
        return int(value)
    return None


class JobWaiter:
    def __init__(self, jobs: "JobRepository", sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic, first_s: float = 0.1,
                 cap_s: float = 0.5):
        self.jobs = jobs
        self.sleep = sleep
        self.monotonic = monotonic
        self.first_s = first_s
        self.cap_s = cap_s

    def wait(self, job_id: str, deadline: float) -> Optional["Job"]:
        """The job once it has ended, or as it is at ``deadline`` (a ``monotonic`` time)."""
        delay = self.first_s
        while True:
            job = self.jobs.get(job_id)
            if job is None or job.status.is_terminal:
                return job
            left = deadline - self.monotonic()
            if left <= 0:
                return job
            self.sleep(min(delay, left))
            delay = min(delay * 1.5, self.cap_s)
