"""A client's jobs, newest first, a page at a time.

Each page is one index query: no scan, no per-item read, no reconciliation.
The cursor is the store's position, with the filters it belongs to, signed
with the caller's key hash: another caller's cursor, a cursor used with other
filters, or a tampered one is refused.
"""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Dict, Optional

from chalicelib.authorization import require_user
from chalicelib.errors import ValidationFailed
from chalicelib.jobs.model import JobStatus
from chalicelib.jobs.views import job_view
from chalicelib.keys import Caller
from chalicelib.storage import MediaStorage
from chalicelib.store import JobQuery, JobRepository

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def _invalid(field: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {why}", code="INVALID_VALUE")


def parse_list_params(params: Dict[str, str]) -> Dict:
    """Query string -> typed filters; 400 for anything unknown or malformed."""
    allowed = {"userId", "status", "modelId", "since", "limit", "cursor"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown parameter; allowed: "
                               f"{', '.join(sorted(allowed))}", code="UNKNOWN_PARAMETER")
    empty = sorted(name for name, value in params.items() if value == "")
    if empty:
        raise _invalid(empty[0], "must not be empty (leave it out instead)")
    out: Dict = {"user_id": params.get("userId") or None, "model_id": params.get("modelId") or None,
                 "cursor": params.get("cursor") or None, "status": None, "since": None,
                 "limit": DEFAULT_LIMIT}
    if params.get("status"):
        try:
            out["status"] = JobStatus(params["status"])
        except ValueError:
            raise _invalid("status", f"one of {', '.join(s.value for s in JobStatus)}") from None
    if params.get("since"):
        try:
            since = datetime.fromisoformat(params["since"].replace("Z", "+00:00"))
        except ValueError:
            raise _invalid("since", "an ISO 8601 time, e.g. 2030-01-01T00:00:00Z") from None
        if since.tzinfo is None:
            raise _invalid("since", "needs a time zone, e.g. a trailing Z")
        try:
            out["since"] = since.astimezone(timezone.utc)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
            raise ValidationFailed("since: a time from year 1 to 9999 in UTC",
                                   code="OUT_OF_RANGE") from None
    if "limit" in params:
        try:
            out["limit"] = int(params["limit"])
        except ValueError:
            raise ValidationFailed("limit: an integer from 1 to 100", code="INVALID_TYPE") \
                from None
        if not 1 <= out["limit"] <= MAX_LIMIT:
            raise ValidationFailed(f"limit: from 1 to {MAX_LIMIT}; got {out['limit']}",
                                   code="OUT_OF_RANGE")
    return out


class JobListing:
    def __init__(self, jobs: JobRepository, storage: MediaStorage):
        self.jobs = jobs
        self.storage = storage

    def list(self, caller: Caller, params: Dict[str, str]) -> Dict:
        p = parse_list_params(params)
        require_user(caller, p["user_id"] or caller.user_id, "list jobs")
        user_id = p["user_id"] or caller.user_id
        filters = {"userId": user_id, "status": p["status"] and p["status"].value,
                   "modelId": p["model_id"], "since": params.get("since") or None}
        start_after = self._open(caller, p["cursor"], filters) if p["cursor"] else None
        page = self.jobs.list(JobQuery(owner_id=caller.client_id, limit=p["limit"],
                                       user_id=user_id, status=p["status"],
                                       model_id=p["model_id"], since=p["since"],
                                       start_after=start_after))
        return {"jobs": [job_view(j, self.storage) for j in page.jobs],
                "nextCursor": self._seal(caller, page.next_position, filters)
                if page.next_position else None}

    @staticmethod
    def _signature(caller: Caller, payload: bytes) -> bytes:
        key = hashlib.sha256(f"vsl-cursor:{caller.key_hash}".encode()).digest()
        return hmac.new(key, payload, hashlib.sha256).digest()[:16]

    def _seal(self, caller: Caller, position: Dict, filters: Dict) -> str:
        payload = json.dumps({"p": position, "f": filters}, sort_keys=True,
                             separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._signature(caller, payload) + payload) \
            .decode().rstrip("=")

    def _open(self, caller: Caller, cursor: str, filters: Dict) -> Optional[Dict]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            signature, payload = raw[:16], raw[16:]
            valid = hmac.compare_digest(signature, self._signature(caller, payload))
            data = json.loads(payload) if valid else None
        except (ValueError, TypeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("p"), dict):
            raise _invalid("cursor", "not a cursor this API key was given; start without one")
        if data.get("f") != filters:
            raise _invalid("cursor", "it belongs to a listing with other filters")
        return data["p"]
