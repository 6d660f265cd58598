"""The jobs store's interface and its value types (no AWS here: the domain and the
in-memory fake import this; chalicelib/jobs/dynamodb.py is the DynamoDB backend).

Every job state change is conditioned on the current status, so a duplicate, late or
out-of-order event cannot move a job backwards; a failed condition is
``StaleTransition`` for the domain to ignore."""
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Optional, Protocol

from chalicelib.jobs.model import Job, JobStatus


@dataclass(frozen=True)
class JobQuery:
    """One page of a client's jobs, newest first."""
    owner_id: str
    limit: int
    user_id: Optional[str] = None
    status: Optional[JobStatus] = None
    model_id: Optional[str] = None
    since: Optional[datetime] = None
    # Where the previous page stopped (the store's own position, opaque to the domain).
    start_after: Optional[Dict[str, str]] = None


@dataclass(frozen=True)
class JobPage:
    jobs: List[Job]
    next_position: Optional[Dict[str, str]]


@dataclass(frozen=True)
class UsageRow:
    """What usage needs of a job (read with a projection, not the whole item)."""
    created_at: datetime
    model_id: str
    status: JobStatus
    cached: bool
    estimated_cost: float
    predict_time: Optional[float]
    provider: Optional[str] = None   # None: never started (a reused result, a refusal)


class JobRepository(Protocol):
    def create(self, job: Job) -> None:
        """Store a new job; AlreadyExists if its id is taken."""

    def get(self, job_id: str) -> Optional[Job]:
        ...

    def update(self, job_id: str, changes: Dict[str, Any],
               from_statuses: Iterable[JobStatus]) -> Job:
        """Apply ``changes`` (Job field names) if the job's status is one of
        ``from_statuses``; the job afterwards, or StaleTransition."""

    def claim_copy(self, job_id: str, until: datetime, now: datetime) -> bool:
        """Take the job's copy until ``until`` unless another holder's claim is still
        running; False then (or when the job is no longer active)."""

    def raise_progress(self, job_id: str, progress: float) -> bool:
        """Record ``progress`` if it is higher than the job's and the job is active;
        False when it changed nothing (so concurrent events never lower it)."""

    def list(self, query: JobQuery) -> JobPage:
        """One query of an index, then the page's jobs read in one batch: no scan. A page
        may hold fewer than ``limit`` jobs when filters drop some; ``next_position`` says
        if more follow."""

    def latest_with_cache_key(self, cache_key: str, since: datetime,
                              limit: int = 10) -> List["IndexedJob"]:
        """The newest jobs made with this cache key since ``since``, newest first
        (id, status and what it follows)."""

    def followers_of(self, job_id: str) -> List[str]:
        """The ids of the jobs following this one."""

    def open_jobs(self, updated_before: datetime) -> Iterator["IndexedJob"]:
        """Active jobs, and ended ones whose event is unsent, quiet since
        ``updated_before`` (id, status, update time and expected time)."""

    def usage_rows(self, owner_id: str, user_id: Optional[str], start: datetime,
                   end: datetime) -> Iterator[UsageRow]:
        """Every job of the client (or of one of its users) created in [start, end)."""


@dataclass(frozen=True)
class IndexedJob:
    """A few attributes of a job, as an index holds them (resources.json: each index
    projects only what its queries read) or a batch read returns them: enough to choose
    jobs; get() reads the one to act on."""
    job_id: str
    status: JobStatus
    updated_at: Optional[datetime] = None
    estimated_time: int = 0
    follows: Optional[str] = None
