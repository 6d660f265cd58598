"""The job, its result and Replicate's prediction as typed values, and the one
table of the lifecycle:

    pending -> processing -> completed | failed | cancelled   (never backwards)
"""
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from enum import Enum
from typing import Any, Dict, FrozenSet, List, Mapping, Optional

from chalicelib.jobs.progress import model_fraction


class JobStatus(str, Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: FrozenSet[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE: FrozenSet[JobStatus] = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})

# Every allowed change of status. A job's result is recorded while it is
# processing (processing -> processing), before the thumbnail completes it.
TRANSITIONS: Mapping[JobStatus, FrozenSet[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.PROCESSING: frozenset({JobStatus.PROCESSING, JobStatus.COMPLETED,
                                     JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def sources_of(target: JobStatus) -> FrozenSet[JobStatus]:
    """The statuses from which a job may move to ``target``."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


# The most submit bodies one POST /generate-media/batch takes.
MAX_BATCH_ITEMS = 50


class JobEvent(str, Enum):
    """What the end point emits, once per job."""
    COMPLETED = "job.completed"
    FAILED = "job.failed"
    CANCELLED = "job.cancelled"


END_EVENTS: Mapping[JobStatus, JobEvent] = {
    JobStatus.COMPLETED: JobEvent.COMPLETED, JobStatus.FAILED: JobEvent.FAILED,
    JobStatus.CANCELLED: JobEvent.CANCELLED}


@dataclass(frozen=True)
class StoredOutput:
    """One output file in our bucket, with what the probe read from it."""
    key: str
    file_size: int
    content_type: str
    width: Optional[int] = None
    height: Optional[int] = None
    duration: Optional[float] = None
    fps: Optional[float] = None


@dataclass(frozen=True)
class JobResult:
    s3_path: str
    outputs: List[StoredOutput]

    @property
    def original(self) -> StoredOutput:
        return self.outputs[0]


@dataclass(frozen=True)
class Job:
    job_id: str
    owner_id: str          # the client whose key created it
    user_id: str
    media_type: str
    model_id: str
    parameters: Dict[str, Any]
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    estimated_time: int
    estimated_cost: float
    replicate_id: Optional[str] = None
    started_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    error: Optional[str] = None
    result: Optional[JobResult] = None
    thumbnail_key: Optional[str] = None
    processing_time: Optional[int] = None
    predict_time: Optional[float] = None
    reconciled_at: Optional[datetime] = None
    # Where this job's events also go (the submit's webhookUrl).
    webhook_url: Optional[str] = None
    # Set in the same write that ends the job, cleared once its event is queued: a
    # crash in between leaves it set, and the event is sent when the job is next seen.
    notification_pending: Optional[bool] = None
    # What makes two submissions identical (client, model, parameters with defaults).
    cache_key: Optional[str] = None
    # A reused result: this job took another job's media and costs nothing.
    cached: Optional[bool] = None
    # The job whose result this one takes (set while following, and after).
    follows: Optional[str] = None
    # A processor is copying the outputs until then: nobody else starts the same copy.
    copying_until: Optional[datetime] = None
    # How far the job is, 0 to 1 (chalicelib.jobs.progress): only ever raised.
    progress: Optional[float] = None
    # When its prediction is due to start, when the start was queued (paced starts).
    start_at: Optional[datetime] = None

    def with_changes(self, **changes) -> "Job":
        return replace(self, **changes)


@dataclass(frozen=True)
class Prediction:
    """What we use of a Replicate prediction. Its logs can be large: only how far
    their last progress bar is (0 to 1) is kept."""
    id: str
    status: str                      # starting | processing | succeeded | failed | canceled
    output: Any = None
    error: Optional[str] = None
    predict_time: Optional[float] = None
    model: Optional[str] = None
    input: Optional[Dict[str, Any]] = None
    # Replicate deleted the outputs (about an hour after the end).
    data_removed: bool = False
    # The model's progress bar in the logs, 0 to 1 (None: the logs show none).
    progress: Optional[float] = None

    ACTIVE_STATUSES = ("starting", "processing")
    TERMINAL_STATUSES = ("succeeded", "failed", "canceled")

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL_STATUSES

    @property
    def output_urls(self) -> List[str]:
        """Replicate's ``output`` as a list of URLs (single-file models return a string)."""
        if isinstance(self.output, str):
            return [self.output]
        if isinstance(self.output, list):
            return [o for o in self.output if isinstance(o, str)]
        return []

    @classmethod
    def from_api(cls, data: Any) -> "Prediction":
        """Replicate's JSON (a webhook body, a GET) -> Prediction; ValueError if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) \
                or not isinstance(data.get("status"), str) or not data["id"]:
            raise ValueError("not a prediction: it needs a string id and status")
        metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
        predict_time = metrics.get("predict_time")
        error = data.get("error")
        return cls(id=data["id"], status=data["status"], output=data.get("output"),
                   error=str(error)[:1000] if error else None,
                   predict_time=float(predict_time) if isinstance(predict_time, (int, float))
                   else None,
                   model=data.get("model") if isinstance(data.get("model"), str) else None,
                   input=data.get("input") if isinstance(data.get("input"), dict) else None,
                   data_removed=data.get("data_removed") is True,
                   progress=model_fraction(data.get("logs")))

    def to_message(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    @classmethod
    def from_message(cls, data: dict) -> "Prediction":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
