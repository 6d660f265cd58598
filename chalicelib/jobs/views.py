"""What clients see of a job: the typed shapes of the 202, the status view and the
error body. The OpenAPI document is generated from these models (the other routes'
shapes: chalicelib.route_models)."""
from typing import Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.clock import iso
from chalicelib.jobs.model import Job, JobStatus
from chalicelib.jobs.pacing import wait_s
from chalicelib.jobs.progress import Stage, progress_of, stage_of
from chalicelib.storage import MediaStorage


class View(BaseModel):
    """A body the API answers with: exactly these fields."""
    model_config = ConfigDict(extra="forbid")


class ErrorBody(View):
    model_config = ConfigDict(extra="allow")
    error: str = Field(description="What went wrong, in a few words")
    details: str = Field(description="Why, naming the field or limit at fault")
    code: str = Field(description="A stable code to branch on")
    retryAfter: Optional[int] = Field(None, description="Seconds to wait (429 and 503)")


class AcceptedJob(View):
    jobId: str
    status: JobStatus
    estimatedTime: int = Field(description="Seconds until the result is expected: what the "
                                           "model usually takes, plus the wait for its start "
                                           "when Replicate's rate limit queues it")
    estimatedCost: float = Field(description="US dollars")
    replicateId: Optional[str] = Field(
        description="Replicate's prediction id; null until Replicate confirms it started, "
                    "and on another provider")
    provider: Optional[str] = Field(
        None, description="The provider running the job (`replicate` or `fal`); null until "
                          "one is chosen, and for a reused result")
    message: str
    cached: Optional[bool] = Field(None, description="Present and true for a reused result")


class OutputView(View):
    url: str = Field(description="Presigned link to the file")
    fileSize: int
    contentType: str
    width: Optional[int] = None
    height: Optional[int] = None
    duration: Optional[float] = None
    fps: Optional[float] = None


class ResultView(View):
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


class JobView(View):
    jobId: str
    status: JobStatus
    mediaType: str
    modelId: str
    userId: str
    createdAt: str
    replicateId: Optional[str] = Field(None, description="Replicate's prediction id when "
                                       "the job runs on Replicate, else null")
    provider: Optional[str] = Field(None, description="The provider the job runs (or ran) "
                                    "on: `replicate` or `fal`; null for a reused result")
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


def replicate_id_of(job: Job) -> Optional[str]:
    """The spec's ``replicateId``: the run's id when it is Replicate's."""
    return job.replicate_id if job.provider in (None, "replicate") else None


def accepted_view(job: Job) -> Dict:
    queued_s = wait_s(job.start_at, job.created_at) if job.start_at else 0
    view = AcceptedJob(jobId=job.job_id, status=job.status,
                       estimatedTime=job.estimated_time + queued_s,
                       estimatedCost=job.estimated_cost, replicateId=replicate_id_of(job),
                       provider=job.provider,
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
                   replicateId=replicate_id_of(job), provider=job.provider,
                   progress=progress_of(job))
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
