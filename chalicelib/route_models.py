"""The other routes' typed shapes: their queries, bodies and answers (a job's own views:
chalicelib.jobs.views). The OpenAPI document is generated from these models."""
import re
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from pydantic import AwareDatetime, Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.jobs.model import MAX_BATCH_ITEMS, JobStatus
from chalicelib.jobs.views import AcceptedJob, ErrorBody, JobView, View

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class JobList(View):
    jobs: List[JobView]
    nextCursor: Optional[str] = Field(description="Pass as ?cursor= for the next page; null "
                                                  "at the end")


class JobListQuery(View):
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


class BatchBody(View):
    # Anything per item: a bad item gets its own error entry and does not sink the batch.
    items: List[Any] = Field(min_length=1, max_length=MAX_BATCH_ITEMS,
                             description="Submit bodies, as for POST /generate-media")


class BatchItemResult(View):
    index: int
    httpStatus: int
    job: Optional[AcceptedJob] = None
    error: Optional[ErrorBody] = None


class BatchResponse(View):
    results: List[BatchItemResult]


class UsageQuery(View):
    userId: Optional[str] = Field(None, min_length=1)
    from_: Optional[date] = Field(None, alias="from",
                                  description="UTC date (default: the first of this month)")
    to: Optional[date] = Field(None, description="UTC date (default: today)")


class UsageTotals(View):
    jobs: int
    completed: int
    failed: int
    cancelled: int
    cached: int
    cost: float = Field(description="US dollars: completed jobs at their price; others 0")
    predictTime: float = Field(description="Seconds of Replicate's predict_time")


class UsageDay(UsageTotals):
    date: str


class UsageResponse(View):
    from_: str = Field(alias="from")
    to: str
    userId: Optional[str]
    totals: UsageTotals
    byModel: Dict[str, UsageTotals]
    byDay: List[UsageDay]
    byProvider: Dict[str, UsageTotals] = Field(
        description="The same totals by the provider each job ran on (`replicate`, `fal`; "
                    "`none` for jobs that never started one, such as reused results)")


class WebhookEndpointView(View):
    id: str
    url: str
    events: List[str]
    createdAt: str
    description: Optional[str] = None
    disabledAt: Optional[str] = Field(None, description="Set when the target answered 410")


class WebhookList(View):
    webhooks: List[WebhookEndpointView]


class SigningSecret(View):
    key: str = Field(description="whsec_...: verify our webhooks with it (Standard Webhooks)")
    previousKeyValidUntil: Optional[str] = None


class DeliveryView(View):
    webhookId: str
    event: str
    url: str
    state: str = Field(description="pending | delivered | failed")
    attempts: int
    lastStatus: Optional[int]
    lastError: Optional[str]
    deliveredAt: Optional[str]
    nextAttemptAt: Optional[str]


class Deliveries(View):
    deliveries: List[DeliveryView]


class ModelInfo(View):
    modelId: str
    mediaType: str
    description: str
    pricing: Dict[str, object]
    estimatedTime: int
    providers: List[str] = Field(
        default_factory=list, description="The providers that may run it, preferred first; "
        "a job fails over from one to the next, or pins one with `provider`. The price is the "
        "same on each")
    parameters: Dict[str, object] = Field(description="The parameters' JSON Schema")


class ModelList(View):
    models: List[ModelInfo]


class Health(View):
    status: str
    checks: Dict[str, str]


class WebhookReceived(View):
    received: bool
