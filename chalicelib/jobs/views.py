"""What clients see: the typed shapes of the 202, the status view and the error
body. The OpenAPI document is generated from these models."""
import re
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.clock import iso
from chalicelib.jobs.model import MAX_BATCH_ITEMS, Job, JobStatus
from chalicelib.jobs.pacing import wait_s
from chalicelib.jobs.progress import Stage, progress_of, stage_of
from chalicelib.storage import MediaStorage


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_View):
    model_config = ConfigDict(extra="allow")
    error: str = Field(description="What went wrong, in a few words")
    details: str = Field(description="Why, naming the field or limit at fault")
    code: str = Field(description="A stable code to branch on")
    retryAfter: Optional[int] = Field(None, description="Seconds to wait (429 and 503)")


class AcceptedJob(_View):
    jobId: str
    status: JobStatus
    estimatedTime: int = Field(description="Seconds until the result is expected: what the "
                                           "model usually takes, plus the wait for its start "
                                           "when Replicate's rate limit queues it")
    estimatedCost: float = Field(description="US dollars")
    replicateId: Optional[str] = Field(
        description="Replicate's prediction id; null until Replicate confirms it started")
    message: str
    cached: Optional[bool] = Field(None, description="Present and true for a reused result")


class OutputView(_View):
    url: str = Field(description="Presigned link to the file")
    fileSize: int
    contentType: str
    width: Optional[int] = None
    height: Optional[int] = None
    duration: Optional[float] = None
    fps: Optional[float] = None


class ResultView(_View):
    originalUrl: str = Field(description="Presigned link to the first output")
    thumbnailUrl: Optional[str] = Field(description="Presigned link to the JPEG preview")
    s3Path: str
    fileSize: int
    contentType: str
    width: Optional[int] = None
    height: Optional[int] = None
    duration: Optional[float] = None
    fps: Optional[float] = None
    outputs: Optional[List[OutputView]] = Field(None, description="Every output, when several")


class JobView(_View):
    jobId: str
    status: JobStatus
    mediaType: str
    modelId: str
    userId: str
    createdAt: str
    replicateId: Optional[str] = None
    progress: Optional[float] = Field(
        None, ge=0, le=1, description="How far the job is, 0 to 1, never decreasing; 1 once "
                                      "completed; null while unknown")
    stage: Optional[Stage] = Field(
        None, description="While pending or processing: queued (no prediction yet), starting "
                          "(the model is booting), generating (the model runs), storing (the "
                          "result is being copied)")
    completedAt: Optional[str] = None
    processingTime: Optional[int] = Field(None, description="Seconds from submit to completed")
    result: Optional[ResultView] = None
    error: Optional[str] = None
    cached: Optional[bool] = Field(None, description="Present and true for a reused result")


def accepted_view(job: Job) -> Dict:
    queued_s = wait_s(job.start_at, job.created_at) if job.start_at else 0
    view = AcceptedJob(jobId=job.job_id, status=job.status,
                       estimatedTime=job.estimated_time + queued_s,
                       estimatedCost=job.estimated_cost, replicateId=job.replicate_id,
                       message=f"Queued: Replicate's rate limit starts it in about {queued_s} s"
                       if queued_s else "Media generation started")
    if job.cached:
        view.cached = True
        view.message = ("Reused an identical job's result" if job.status.is_terminal
                        else "Following an identical job that is still running")
    return view.model_dump(mode="json", exclude_unset=True)


def job_view(job: Job, storage: MediaStorage) -> Dict:
    view = JobView(jobId=job.job_id, status=job.status, mediaType=job.media_type,
                   modelId=job.model_id, userId=job.user_id, createdAt=iso(job.created_at),
                   replicateId=job.replicate_id, progress=progress_of(job))
    stage = stage_of(job)
    if stage is not None:
        view.stage = stage
    if job.cached:
        view.cached = True
    if job.status.is_terminal:
        view.completedAt = iso(job.completed_at) if job.completed_at else None
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        view.error = job.error
    if job.status == JobStatus.COMPLETED and job.result is not None:
        view.processingTime = job.processing_time
        view.result = _result_view(job, storage)
    # Only what was set: a field that does not apply to this status is absent, not null.
    return view.model_dump(mode="json", exclude_unset=True)


def _result_view(job: Job, storage: MediaStorage) -> ResultView:
    outputs = [OutputView(url=storage.presigned_url(o.key), fileSize=o.file_size,
                          contentType=o.content_type, **{k: v for k, v in (
                              ("width", o.width), ("height", o.height), ("duration", o.duration),
                              ("fps", o.fps)) if v is not None})
               for o in job.result.outputs]
    first = outputs[0]
    return ResultView(originalUrl=first.url,
                      thumbnailUrl=storage.presigned_url(job.thumbnail_key)
                      if job.thumbnail_key else None,
                      s3Path=job.result.s3_path,
                      **first.model_dump(exclude={"url"}, exclude_none=True),
                      **({"outputs": outputs} if len(outputs) > 1 else {}))


# ---- the other routes' shapes (documented in /openapi.json) -----------------------------

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class JobList(_View):
    jobs: List[JobView]
    nextCursor: Optional[str] = Field(description="Pass as ?cursor= for the next page; null "
                                                  "at the end")


class JobListQuery(_View):
    userId: Optional[str] = Field(None, min_length=1)
    status: Optional[JobStatus] = None
    modelId: Optional[str] = Field(None, min_length=1)
    since: Optional[AwareDatetime] = Field(None, description="ISO 8601 time with a zone")
    limit: int = Field(20, ge=1, le=100, description="1 to 100")
    cursor: Optional[str] = Field(None, min_length=1)

    @field_validator("since", mode="before")
    @classmethod
    def _iso_8601(cls, value: Any) -> Any:
        # pydantic reads a number (0.5, "1700000000") as Unix time; the documented form
        # is ISO 8601 text only.
        if value is not None and (not isinstance(value, str) or _NUMBER.fullmatch(value)):
            raise PydanticCustomError("iso_8601", "an ISO 8601 time with a zone, e.g. "
                                                  "2030-01-01T00:00:00Z")
        return value

    @field_validator("since")
    @classmethod
    def _in_utc(cls, value: Optional[datetime]) -> Optional[datetime]:
        try:
            return value.astimezone(timezone.utc) if value else None
        except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
            raise PydanticCustomError("out_of_range", "a time from year 1 to 9999 in UTC") \
                from None


class BatchBody(_View):
    # Anything per item: a bad item gets its own error entry and does not sink the batch.
    items: List[Any] = Field(min_length=1, max_length=MAX_BATCH_ITEMS,
                             description="Submit bodies, as for POST /generate-media")


class BatchItemResult(_View):
    index: int
    httpStatus: int
    job: Optional[AcceptedJob] = None
    error: Optional[ErrorBody] = None


class BatchResponse(_View):
    results: List[BatchItemResult]


class UsageQuery(_View):
    userId: Optional[str] = Field(None, min_length=1)
    from_: Optional[date] = Field(None, alias="from",
                                  description="UTC date (default: the first of this month)")
    to: Optional[date] = Field(None, description="UTC date (default: today)")


class UsageTotals(_View):
    jobs: int
    completed: int
    failed: int
    cancelled: int
    cached: int
    cost: float = Field(description="US dollars: completed jobs at their price; others 0")
    predictTime: float = Field(description="Seconds of Replicate's predict_time")


class UsageDay(UsageTotals):
    date: str


class UsageResponse(_View):
    from_: str = Field(alias="from")
    to: str
    userId: Optional[str]
    totals: UsageTotals
    byModel: Dict[str, UsageTotals]
    byDay: List[UsageDay]


class WebhookEndpointView(_View):
    id: str
    url: str
    events: List[str]
    createdAt: str
    description: Optional[str] = None
    disabledAt: Optional[str] = Field(None, description="Set when the target answered 410")


class WebhookList(_View):
    webhooks: List[WebhookEndpointView]


class SigningSecret(_View):
    key: str = Field(description="whsec_...: verify our webhooks with it (Standard Webhooks)")
    previousKeyValidUntil: Optional[str] = None


class DeliveryView(_View):
    webhookId: str
    event: str
    url: str
    state: str = Field(description="pending | delivered | failed")
    attempts: int
    lastStatus: Optional[int]
    lastError: Optional[str]
    deliveredAt: Optional[str]
    nextAttemptAt: Optional[str]


class Deliveries(_View):
    deliveries: List[DeliveryView]


class ModelInfo(_View):
    modelId: str
    mediaType: str
    description: str
    pricing: Dict[str, object]
    estimatedTime: int
    parameters: Dict[str, object] = Field(description="The parameters' JSON Schema")


class ModelList(_View):
    models: List[ModelInfo]


class Health(_View):
    status: str
    checks: Dict[str, str]


class WebhookReceived(_View):
    received: bool
