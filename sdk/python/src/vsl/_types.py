"""The API's JSON objects as dicts with typed attributes: ``job['jobId']`` and
``job.job_id`` read the same value, and the dict is exactly what the API returned."""
from __future__ import annotations

from typing import Any, Dict, List, Optional


class _View(Dict[str, Any]):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class Job(_View):
    """A submitted job, as ``POST /generate-media`` answered (202)."""

    __slots__ = ()

    @property
    def job_id(self) -> str:
        return self["jobId"]

    @property
    def status(self) -> str:
        return self["status"]

    @property
    def estimated_time(self) -> Optional[float]:
        """Seconds the model usually takes."""
        return self.get("estimatedTime")

    @property
    def estimated_cost(self) -> Optional[float]:
        """USD."""
        return self.get("estimatedCost")

    @property
    def replicate_id(self) -> Optional[str]:
        return self.get("replicateId")

    @property
    def provider(self) -> Optional[str]:
        """The provider running the job: "replicate" or "fal" (None for a reused result)."""
        return self.get("provider")

    @property
    def message(self) -> Optional[str]:
        return self.get("message")


class Result(_View):
    """A completed job's media: presigned URLs and what was measured of the file."""

    __slots__ = ()

    @property
    def original_url(self) -> str:
        return self["originalUrl"]

    @property
    def thumbnail_url(self) -> Optional[str]:
        return self.get("thumbnailUrl")

    @property
    def s3_path(self) -> Optional[str]:
        return self.get("s3Path")

    @property
    def file_size(self) -> Optional[int]:
        return self.get("fileSize")

    @property
    def content_type(self) -> Optional[str]:
        return self.get("contentType")

    @property
    def width(self) -> Optional[int]:
        return self.get("width")

    @property
    def height(self) -> Optional[int]:
        return self.get("height")

    @property
    def duration(self) -> Optional[float]:
        return self.get("duration")

    @property
    def fps(self) -> Optional[float]:
        return self.get("fps")

    @property
    def outputs(self) -> List[Dict[str, Any]]:
        """Every output when the model made several (the first is ``original_url``)."""
        return self.get("outputs") or []


class JobStatus(_View):
    """``GET /status/{jobId}``: the job's state, and its result once completed."""

    __slots__ = ()

    @property
    def job_id(self) -> str:
        return self["jobId"]

    @property
    def status(self) -> str:
        """pending, processing, completed, failed or cancelled."""
        return self["status"]

    @property
    def is_terminal(self) -> bool:
        return self["status"] in TERMINAL_STATUSES

    @property
    def media_type(self) -> Optional[str]:
        return self.get("mediaType")

    @property
    def model_id(self) -> Optional[str]:
        return self.get("modelId")

    @property
    def user_id(self) -> Optional[str]:
        return self.get("userId")

    @property
    def created_at(self) -> Optional[str]:
        return self.get("createdAt")

    @property
    def completed_at(self) -> Optional[str]:
        return self.get("completedAt")

    @property
    def provider(self) -> Optional[str]:
        """Which provider runs the job, where the service says."""
        return self.get("provider")

    @property
    def processing_time(self) -> Optional[float]:
        return self.get("processingTime")

    @property
    def result(self) -> Optional[Result]:
        return self.get("result")

    @property
    def error(self) -> Optional[str]:
        return self.get("error")

    @property
    def progress(self) -> Optional[float]:
        """How far the job is, 0 to 1 (1 once completed); None while unknown. Never
        decreases from one read to the next."""
        return self.get("progress")

    @property
    def stage(self) -> Optional[str]:
        """While running: queued, starting, generating or storing; None once ended."""
        return self.get("stage")


class Upload(_View):
    """``POST /uploads``: a file of yours the service keeps for a day."""

    __slots__ = ()

    @property
    def upload_id(self) -> str:
        return self["uploadId"]

    @property
    def ref(self) -> str:
        """What an image parameter takes to use it: ``upload:<uploadId>``."""
        return f"upload:{self['uploadId']}"

    @property
    def expires_at(self) -> str:
        return self["expiresAt"]


class Model(_View):
    """One entry of ``GET /models``."""

    __slots__ = ()

    @property
    def model_id(self) -> str:
        return self["modelId"]

    @property
    def media_type(self) -> str:
        return self["mediaType"]

    @property
    def description(self) -> Optional[str]:
        return self.get("description")

    @property
    def pricing(self) -> Any:
        return self.get("pricing")

    @property
    def estimated_time(self) -> Optional[float]:
        return self.get("estimatedTime")

    @property
    def parameters(self) -> Dict[str, Any]:
        """The model's parameters as JSON Schema."""
        return self.get("parameters") or {}


TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


def job_status(body: Dict[str, Any]) -> JobStatus:
    view = JobStatus(body)
    if isinstance(view.get("result"), dict):
        view["result"] = Result(view["result"])
    return view
