"""A client's jobs, newest first (by `createdAt`, to the millisecond; jobs created in the
same millisecond by job id), a page at a time.

Each page is one index query and one batch read of the jobs it found: no scan, no
reconciliation.
The cursor is the store's position, with the filters it belongs to, signed
with the caller's key hash: another caller's cursor, a cursor used with other
filters, or a tampered one is refused.
"""
import base64
import hashlib
import hmac
import json
from typing import Dict, Optional

from chalicelib.authorization import require_user
from chalicelib.errors import ValidationFailed
from chalicelib.validation import parse_query
from chalicelib.jobs.views import job_view
from chalicelib.route_models import JobList, JobListQuery
from chalicelib.keys import Caller
from chalicelib.storage import MediaStorage
from chalicelib.jobs.persistence import JobQuery, JobRepository

def _invalid(field: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {why}", code="INVALID_VALUE")


class JobListing:
    def __init__(self, jobs: JobRepository, storage: MediaStorage):
        self.jobs = jobs
        self.storage = storage

    def list(self, caller: Caller, params: Dict[str, str]) -> Dict:
        query = parse_query(JobListQuery, params)
        user_id = query.userId or caller.user_id
        require_user(caller, user_id, "list jobs")
        filters = {"userId": user_id, "status": query.status and query.status.value,
                   "modelId": query.modelId, "since": params.get("since") or None}
        start_after = self._open(caller, query.cursor, filters) if query.cursor else None
        page = self.jobs.list(JobQuery(owner_id=caller.client_id, limit=query.limit,
                                       user_id=user_id, status=query.status,
                                       model_id=query.modelId, since=query.since,
                                       start_after=start_after))
        return JobList(jobs=[job_view(j, self.storage) for j in page.jobs],
                       nextCursor=self._seal(caller, page.next_position, filters)
                       if page.next_position else None).model_dump(mode="json")

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
