"""One Idempotency-Key's record."""
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Dict, Optional


class RecordStatus(str, Enum):
    IN_PROGRESS = "IN_PROGRESS"   # the first request is running
    COMPLETED = "COMPLETED"       # its response is kept for replays


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Dict
    headers: Dict[str, str]


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str                      # scoped: "{client}#{Idempotency-Key}"
    fingerprint: str              # what the request was: method, route and body
    status: RecordStatus
    started_at: datetime
    expires_at: datetime
    response: Optional[StoredResponse] = None
