"""Endpoints, secrets, deliveries, and the payload the spec defines."""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Dict, List, Optional, Tuple

from chalicelib.clock import iso
from chalicelib.jobs.model import Job, JobEvent, JobStatus

DEFAULT_EVENTS: Tuple[str, ...] = (JobEvent.COMPLETED.value, JobEvent.FAILED.value)
ALL_EVENTS: Tuple[str, ...] = tuple(e.value for e in JobEvent)
# After a rotation the previous secret keeps signing this long, so receivers can switch.
ROTATION_OVERLAP_S = 86400


@dataclass(frozen=True)
class Endpoint:
    """A client's registered webhook target."""
    client_id: str
    endpoint_id: str
    url: str
    events: Tuple[str, ...]
    created_at: datetime
    description: Optional[str] = None
    disabled_at: Optional[datetime] = None  # set when the target answered 410 Gone


@dataclass(frozen=True)
class RetiredSecret:
    """A secret a rotation replaced: it still signs until ``valid_until``."""
    key: str
    valid_until: datetime


@dataclass(frozen=True)
class SigningSecrets:
    """A client's secret, and those rotations replaced, each signing until the time
    its rotation promised (a day after it)."""
    current: str
    retired: Tuple[RetiredSecret, ...] = ()

    def active(self, now: datetime) -> List[str]:
        return [self.current] + [r.key for r in self.retired if now < r.valid_until]

    def still_valid(self, now: datetime) -> Tuple[RetiredSecret, ...]:
        return tuple(r for r in self.retired if now < r.valid_until)

    def rotated(self, new_secret: str, now: datetime, overlap_s: int) -> "SigningSecrets":
        """The new secret current; every secret still promised keeps signing."""
        return SigningSecrets(new_secret, self.still_valid(now) + (
            RetiredSecret(self.current, now + timedelta(seconds=overlap_s)),))


class DeliveryState(str, Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"        # given up: the last attempt failed, or the target is gone


@dataclass(frozen=True)
class Target:
    """Where one event goes, and with which secrets it is signed."""
    kind: str                       # "stage" | "endpoint" | "job"
    url: str
    endpoint_id: Optional[str] = None


@dataclass(frozen=True)
class Delivery:
    job_id: str
    webhook_id: str                 # the same on every attempt: receivers deduplicate by it
    event: str
    target: Target
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    last_status: Optional[int] = None
    last_error: Optional[str] = None
    delivered_at: Optional[datetime] = None
    next_attempt_at: Optional[datetime] = None

    def view(self) -> Dict:
        from chalicelib.route_models import DeliveryView
        return DeliveryView(
            webhookId=self.webhook_id, event=self.event, url=self.target.url,
            state=self.state.value, attempts=self.attempts, lastStatus=self.last_status,
            lastError=self.last_error,
            deliveredAt=iso(self.delivered_at) if self.delivered_at else None,
            nextAttemptAt=iso(self.next_attempt_at)
            if self.next_attempt_at and self.state == DeliveryState.PENDING else None,
        ).model_dump(mode="json")


def webhook_id(job_id: str, event: str, target: Target) -> str:
    """One id per job, event and target, stable across retries and redeliveries."""
    digest = hashlib.sha256(f"{job_id}|{event}|{target.kind}|{target.endpoint_id or target.url}"
                            .encode()).hexdigest()
    return f"msg_{digest[:32]}"


def event_payload(job: Job, event: str, presign) -> Dict:
    """The spec's "Webhooks (For Your Application)" payload. Links are presigned
    when sent; GET /status always gives fresh ones."""
    payload = {"event": event, "jobId": job.job_id, "userId": job.user_id,
               "status": job.status.value,
               "timestamp": iso(job.completed_at or job.updated_at)}
    if job.status == JobStatus.COMPLETED and job.result is not None:
        payload["result"] = {
            "originalUrl": presign(job.result.original.key),
            "thumbnailUrl": presign(job.thumbnail_key) if job.thumbnail_key else None,
            "fileSize": job.result.original.file_size}
    else:
        payload["error"] = job.error
    return payload
